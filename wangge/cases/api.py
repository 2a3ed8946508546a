"""Cases over JSON: intake from every channel, scoped lists and details, and one endpoint per
move of the loop. Handlers are thin: parse, check permission and scope, call one action, render.

Scope first: a case outside the caller's part of the grid answers 404, like a missing one; a
case they can see but whose move their role does not allow answers 403.
"""

from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import File, Form, Header, Query, Router, Status
from ninja.files import UploadedFile
from ninja.pagination import PageNumberPagination, paginate

from wangge.accounts.models import User
from wangge.accounts.permissions import Perm, has_perm, roles_of
from wangge.cases import actions
from wangge.cases.deadlines import Colour, with_colour
from wangge.cases.models import Case, CaseState, Category, Channel
from wangge.cases.queries import (
    REPLY_PERMS,
    active_category,
    get_case_for,
    get_case_for_any,
    helper_unit_for,
    visible_cases,
)
from wangge.cases.schemas import (
    AttachmentOut,
    CaseDetailOut,
    CaseFilters,
    CaseIn,
    CaseOut,
    DispatchIn,
    InstructIn,
    InstructionResultIn,
    RateIn,
    ReasonIn,
    ReplyIn,
    ResolveIn,
    RevealIn,
    RevealOut,
    SuperviseIn,
    TaskDoneIn,
    VersionIn,
)
from wangge.dispatch.actions import dispatch_by_dispatcher, intake_case
from wangge.dispatch.queries import assignee_for_dispatch, latest_recommendation, unit_for_dispatch
from wangge.grids.models import GridCell
from wangge.lib.answers import answer
from wangge.lib.errors import CaseChangedMeanwhile, InvalidInput, NotFound, PermissionDenied

router = Router(tags=["cases"])
CASE_RELATED = ("cell", "handling_cell", "unit", "assignee", "category")


def _require_perm(user: User, perm: Perm) -> None:
    if not has_perm(user, perm):
        raise PermissionDenied()


def _detail(case_id: int, user: User) -> Case:
    case = Case.objects.select_related(*CASE_RELATED).get(pk=case_id)
    case.show_internal = bool(roles_of(user))
    case.recommendation = latest_recommendation(case)
    return case


def _case(request, case_id: int, perm: Perm, version: int | None = None) -> Case:
    case = get_case_for(request.auth, case_id, perm)
    if version is not None and version != case.version:
        raise CaseChangedMeanwhile()
    return case


def _category(code: str | None, field: str = "category") -> Category | None:
    if not code:
        return None
    category = active_category(code.strip())
    if category is None:
        raise InvalidInput(fields={field: _("Unknown category.")})
    return category


def _grid(value: str | None, field: str) -> GridCell | None:
    """A grid cell named by its code or, failing that, its id."""
    if not value:
        return None
    value = value.strip()
    cell = GridCell.objects.filter(code=value).first()
    if cell is None and value.isdigit():
        cell = GridCell.objects.filter(pk=int(value)).first()
    if cell is None:
        raise InvalidInput(fields={field: _("Unknown grid.")})
    return cell


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


# --- 上报 and reads --------------------------------------------------------------------------


@router.post("", response={200: CaseDetailOut, 201: CaseDetailOut})
def report(
    request,
    payload: CaseIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=100),
):
    """上报 from any channel. A retry with the same `Idempotency-Key` (imports: the same
    `external_ref`) answers 200 with the first case; a new case answers 201. 智能分派 runs in
    the worker right after (`routing_pending` is true until it has), or within the request
    when `WANGGE_INTAKE_ROUTING=inline`."""
    user = request.auth
    _require_perm(user, Perm.REPORT_CASE)
    key = idempotency_key or (payload.external_ref if payload.channel == Channel.IMPORT else None)
    case, created = intake_case(
        channel=payload.channel,
        title=payload.title,
        description=payload.description,
        idempotency_key=key or None,
        lon=payload.lon,
        lat=payload.lat,
        address=payload.address,
        cell=_grid(payload.cell, "cell"),
        category=_category(payload.category),
        priority=payload.priority,
        reporter_name=payload.reporter_name,
        reporter_phone=payload.reporter_phone,
        anonymous=payload.anonymous,
        external_ref=payload.external_ref,
        actor=user,
    )
    if not created:
        return Status(200, _detail(case.pk, user))
    # Answer from what was just written instead of reading it back.
    case.show_internal = bool(roles_of(user))
    if not case.routing_pending:
        return Status(201, case)
    # The hot path: its one event, no tasks yet, rendered without ninja's per-field validation.
    case.fresh_events = [case.report_event]
    return answer(request, CaseDetailOut, case, status=201)


def _filtered(qs: QuerySet[Case], f: CaseFilters) -> QuerySet[Case]:
    if f.state:
        if f.state not in CaseState.values:
            raise InvalidInput(fields={"state": _("Unknown state.")})
        qs = qs.filter(state=f.state)
    if f.colour:
        if f.colour not in (Colour.GREEN, Colour.YELLOW, Colour.RED):
            raise InvalidInput(fields={"colour": _("Choose green, yellow or red.")})
        qs = qs.filter(colour=f.colour)
    if f.channel:
        if f.channel not in Channel.values:
            raise InvalidInput(fields={"channel": _("Unknown channel.")})
        qs = qs.filter(channel=f.channel)
    if f.grid:
        qs = qs.filter(cell__path__startswith=_grid(f.grid, "grid").path)
    if f.unit:
        qs = qs.filter(unit_id=f.unit)
    if f.category:
        cat = _category(f.category)
        qs = qs.filter(Q(category=cat) | Q(category__parent=cat) | Q(category__parent__parent=cat))
    if f.reported_from:
        qs = qs.filter(reported_at__gte=_day_start(f.reported_from))
    if f.reported_to:
        qs = qs.filter(reported_at__lt=_day_start(f.reported_to + timedelta(days=1)))
    return qs


@router.get("", response=list[CaseOut])
@paginate(PageNumberPagination, page_size=50)
def list_cases(request, filters: Query[CaseFilters]):
    """Cases in the caller's scope, newest first, with their deadline colour."""
    user = request.auth
    _require_perm(user, Perm.VIEW_CASE)
    qs = visible_cases(user).select_related(*CASE_RELATED)
    return _filtered(with_colour(qs, now=timezone.now()), filters)


@router.get("/{case_id}", response=CaseDetailOut)
def get_case(request, case_id: int):
    """One case with its timeline; the reporter's phone is masked (see reveal-phone)."""
    case = _case(request, case_id, Perm.VIEW_CASE)
    return _detail(case.pk, request.auth)


# --- the loop: one endpoint per move ---------------------------------------------------------


def _move(request, case_id: int, perm: Perm, version: int | None, act: Callable) -> Case:
    case = _case(request, case_id, perm, version)
    act(case, request.auth)
    return _detail(case.pk, request.auth)


@router.post("/{case_id}/dispatch", response=CaseDetailOut)
def dispatch(request, case_id: int, payload: DispatchIn):
    """派单 to a lead unit (`unit_id`, with `helpers` for 协办) or a grid worker (`assignee_id`)."""
    unit = unit_for_dispatch(payload.unit_id, field="unit_id") if payload.unit_id else None
    assignee = assignee_for_dispatch(payload.assignee_id) if payload.assignee_id else None
    helpers = [unit_for_dispatch(h, field="helpers") for h in payload.helpers]
    category = _category(payload.category)
    return _move(
        request,
        case_id,
        Perm.DISPATCH_CASE,
        payload.version,
        lambda case, user: dispatch_by_dispatcher(
            case,
            actor=user,
            unit=unit,
            assignee=assignee,
            helpers=helpers,
            due_at=payload.due_at,
            note=payload.note,
            category=category,
        ),
    )


@router.post("/{case_id}/accept", response=CaseDetailOut)
def accept(request, case_id: int, payload: VersionIn | None = None):
    """签收."""
    version = payload.version if payload else None
    return _move(
        request, case_id, Perm.HANDLE_CASE, version,
        lambda case, user: actions.accept_case(case, actor=user),
    )  # fmt: skip


@router.post("/{case_id}/return", response=CaseDetailOut)
def return_(request, case_id: int, payload: ReasonIn):
    """退单, with a reason."""
    return _move(
        request, case_id, Perm.HANDLE_CASE, payload.version,
        lambda case, user: actions.return_case(case, reason=payload.reason, actor=user),
    )  # fmt: skip


@router.post("/{case_id}/start", response=CaseDetailOut)
def start(request, case_id: int, payload: VersionIn | None = None):
    """处置: handling started."""
    version = payload.version if payload else None
    return _move(
        request, case_id, Perm.HANDLE_CASE, version,
        lambda case, user: actions.start_case(case, actor=user),
    )  # fmt: skip


@router.post("/{case_id}/pause", response=CaseDetailOut)
def pause(request, case_id: int, payload: ReasonIn):
    """挂起: the clock stops, with a reason."""
    return _move(
        request, case_id, Perm.HANDLE_CASE, payload.version,
        lambda case, user: actions.pause_case(case, reason=payload.reason, actor=user),
    )  # fmt: skip


@router.post("/{case_id}/resume", response=CaseDetailOut)
def resume(request, case_id: int, payload: VersionIn | None = None):
    """恢复: the clock runs again."""
    version = payload.version if payload else None
    return _move(
        request, case_id, Perm.HANDLE_CASE, version,
        lambda case, user: actions.resume_case(case, actor=user),
    )  # fmt: skip


@router.post("/{case_id}/resolve", response=CaseDetailOut)
def resolve(request, case_id: int, payload: ResolveIn):
    """办结, with an outcome, what was done and, from a phone, where (lon, lat)."""
    return _move(
        request, case_id, Perm.HANDLE_CASE, payload.version,
        lambda case, user: actions.resolve_case(
            case, outcome=payload.outcome, note=payload.note, actor=user,
            lon=payload.lon, lat=payload.lat,
        ),
    )  # fmt: skip


@router.post("/{case_id}/rate", response=CaseDetailOut)
def rate(request, case_id: int, payload: RateIn):
    """评价 recorded on the resident's behalf (回访); unsatisfied reopens the case."""
    return _move(
        request, case_id, Perm.RATE_CASE, payload.version,
        lambda case, user: actions.rate_case(
            case, satisfaction=payload.satisfaction, comment=payload.comment, actor=user
        ),
    )  # fmt: skip


@router.post("/{case_id}/supervise", response=CaseDetailOut)
def supervise(request, case_id: int, payload: SuperviseIn):
    """督办: demand an answer from the handling unit by a deadline."""
    return _move(
        request, case_id, Perm.SUPERVISE, None,
        lambda case, user: actions.supervise_case(
            case, level=payload.level, demand=payload.demand, due_at=payload.due_at, actor=user
        ),
    )  # fmt: skip


@router.post("/{case_id}/escalate", response=CaseDetailOut)
def escalate(request, case_id: int, payload: ReasonIn):
    """上报 to the next level up the grid, with a reason."""
    return _move(
        request, case_id, Perm.ESCALATE_CASE, payload.version,
        lambda case, user: actions.escalate_case(case, reason=payload.reason, actor=user),
    )  # fmt: skip


@router.post("/{case_id}/reopen", response=CaseDetailOut)
def reopen(request, case_id: int, payload: ReasonIn):
    """重办, with a reason; a 督办 order watches the new clock."""
    return _move(
        request, case_id, Perm.REOPEN_CASE, payload.version,
        lambda case, user: actions.reopen_case(case, reason=payload.reason, actor=user),
    )  # fmt: skip


@router.post("/{case_id}/close", response=CaseDetailOut)
def close(request, case_id: int, payload: ReasonIn | None = None):
    """归档 (a case closed without handling needs a reason)."""
    reason, version = (payload.reason, payload.version) if payload else ("", None)
    return _move(
        request, case_id, Perm.CLOSE_CASE, version,
        lambda case, user: actions.close_case(case, reason=reason, actor=user),
    )  # fmt: skip


# --- 反馈, 批办, 协办: lines on the timeline, no move ------------------------------------------


@router.post("/{case_id}/reply", response=CaseDetailOut)
def reply(request, case_id: int, payload: ReplyIn):
    """反馈: a message to the reporter, shown on the tracking page as written."""
    case = get_case_for_any(request.auth, case_id, REPLY_PERMS)
    actions.reply_to_reporter(case, text=payload.text, actor=request.auth)
    return _detail(case.pk, request.auth)


@router.post("/{case_id}/instruct", response=CaseDetailOut)
def instruct(request, case_id: int, payload: InstructIn):
    """批办: a leader's instruction, tracked until the handling unit records its result."""
    case = _case(request, case_id, Perm.INSTRUCT)
    actions.instruct_case(case, text=payload.text, actor=request.auth)
    return _detail(case.pk, request.auth)


@router.post("/{case_id}/instructions/{instruction_id}/result", response=CaseDetailOut)
def instruction_result(request, case_id: int, instruction_id: int, payload: InstructionResultIn):
    """The handling unit's result of a 批办 instruction; recorded once."""
    case = _case(request, case_id, Perm.HANDLE_CASE)
    item = case.instructions.filter(pk=instruction_id).first()
    if item is None:
        raise NotFound()
    actions.record_instruction_result(item, result=payload.result, actor=request.auth)
    return _detail(case.pk, request.auth)


@router.post("/{case_id}/tasks/finish", response=CaseDetailOut)
def finish_task(request, case_id: int, payload: TaskDoneIn):
    """协办 done: the caller's helping unit reports its part to the lead unit."""
    case = _case(request, case_id, Perm.HANDLE_CASE)
    unit = helper_unit_for(request.auth, case, payload.unit_id)
    actions.finish_task(case, unit=unit, note=payload.note, actor=request.auth)
    return _detail(case.pk, request.auth)


# --- personal data and files -----------------------------------------------------------------


@router.post("/{case_id}/reveal-phone", response=RevealOut)
def reveal_phone(request, case_id: int, payload: RevealIn):
    """The reporter's clear phone number; the read is logged with its purpose."""
    case = _case(request, case_id, Perm.REVEAL_CONTACT)
    phone = actions.reveal_reporter_phone(case, purpose=payload.purpose, actor=request.auth)
    return {"phone": phone}


@router.post("/{case_id}/attachments", response={200: AttachmentOut, 201: AttachmentOut})
def attach(
    request,
    case_id: int,
    file: File[UploadedFile],
    public: Form[bool] = False,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=100),
):
    """A photo or document (multipart field `file`), within the size and type limits. A retry
    with the same `Idempotency-Key` answers 200 with the first upload."""
    case = _case(request, case_id, Perm.REPORT_CASE)
    attachment, created = actions.add_attachment(
        case, upload=file, actor=request.auth, public=public, idempotency_key=idempotency_key
    )
    return Status(201 if created else 200, attachment)
