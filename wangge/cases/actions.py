"""Every operation that changes a case. Each is one transaction: the table check, a
compare-and-set on `version`, the timeline event and any outbox rows commit together.

Actions take keyword-only `actor` and `now` (clock readers take `now=` so tests can travel).
"""

from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from wangge.accounts.models import Unit, User
from wangge.accounts.queries import on_duty_grid_workers
from wangge.audit.actions import record_personal_data_access
from wangge.cases import deadlines
from wangge.cases.models import (
    TRANSITIONS,
    Attachment,
    Audience,
    Case,
    CaseEvent,
    CaseState,
    CaseTask,
    Category,
    Channel,
    EventKind,
    LeaderInstruction,
    LocationFlag,
    Notification,
    Outcome,
    Priority,
    Satisfaction,
    SavedView,
    SupervisionLevel,
    SupervisionOrder,
    SupervisionState,
    TaskRole,
)
from wangge.grids.locate import locate
from wangge.grids.models import GridCell, GridLevel
from wangge.lib.crypto import phone_index
from wangge.lib.db import insert_with_child
from wangge.lib.errors import (
    CaseChangedMeanwhile,
    Conflict,
    IllegalTransition,
    InvalidInput,
    NotFound,
)
from wangge.lib.images import check_size, clean_image
from wangge.lib.masking import mask_name
from wangge.lib.middleware import current_request_id

PUBLIC_KINDS = {
    EventKind.REPORT,
    EventKind.DISPATCH,
    EventKind.ACCEPT,
    EventKind.START,
    EventKind.PAUSE,
    EventKind.RESUME,
    EventKind.RESOLVE,
    EventKind.RATE,
    EventKind.REOPEN,
    EventKind.CLOSE,
    EventKind.ESCALATE,
    EventKind.REPLY,
    EventKind.SUPERVISE,
}


CHANNELS, PRIORITIES = frozenset(Channel.values), frozenset(Priority.values)


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _require(value, field: str, message):
    if value in (None, "") or (isinstance(value, str) and not value.strip()):
        raise InvalidInput(fields={field: str(message)})
    return value


def add_event(
    case: Case,
    kind: str,
    *,
    actor: User | None,
    now: datetime,
    reason: str = "",
    before: str = "",
    after: str = "",
    data: dict | None = None,
    audience: str | None = None,
    dedupe_key: str | None = None,
    actor_name: str = "",
) -> CaseEvent:
    """Append one line to the case's timeline (inside the caller's transaction). The actor's
    name is copied so the line still reads right if the account is renamed or removed."""
    event = _event(
        case,
        kind,
        actor=actor,
        now=now,
        reason=reason,
        before=before,
        after=after,
        data=data,
        audience=audience,
        dedupe_key=dedupe_key,
        actor_name=actor_name,
    )
    event.save(force_insert=True)
    return event


def _event(
    case: Case,
    kind: str,
    *,
    actor: User | None,
    now: datetime,
    reason: str = "",
    before: str = "",
    after: str = "",
    data: dict | None = None,
    audience: str | None = None,
    dedupe_key: str | None = None,
    actor_name: str = "",
) -> CaseEvent:
    return CaseEvent(
        case=case,
        kind=kind,
        audience=audience or (Audience.PUBLIC if kind in PUBLIC_KINDS else Audience.INTERNAL),
        actor=actor if actor and actor.pk else None,
        actor_name=actor_name or (str(actor) if actor else "system"),
        occurred_at=now,
        from_state=before,
        to_state=after,
        reason=reason,
        data=data or {},
        request_id=current_request_id(),
        dedupe_key=dedupe_key,
    )


def notify(
    kind: str,
    *,
    case: Case | None = None,
    unit: Unit | None = None,
    user: User | None = None,
    payload: dict | None = None,
    now: datetime,
    dedupe_key: str | None = None,
) -> Notification | None:
    """Queue a message in the outbox. It leaves with the commit or not at all: the worker polls
    the outbox every second (`wangge worker --poll`), delivers and retries failures."""
    if dedupe_key and Notification.objects.filter(dedupe_key=dedupe_key).exists():
        return None
    note = Notification.objects.create(
        kind=kind,
        case=case,
        unit=unit,
        user=user,
        payload=payload or {},
        next_attempt_at=now,
        dedupe_key=dedupe_key,
    )
    return note


def _move(
    case: Case,
    step: str,
    *,
    actor: User,
    now: datetime,
    reason: str = "",
    data: dict | None = None,
    **fields,
) -> Case:
    """Apply one row of TRANSITIONS with a compare-and-set; the loser of a race gets 409."""
    to = TRANSITIONS.get((step, case.state))
    if to is None:
        raise IllegalTransition(state=CaseState(case.state).label)
    version = case.version + 1
    won = Case.objects.filter(pk=case.pk, version=case.version, state=case.state).update(
        state=to, version=version, updated_at=now, **fields
    )
    if won != 1:
        raise CaseChangedMeanwhile()
    before = case.state
    # The compare-and-set proves our copy was current, so it can be updated in place
    # instead of read back.
    for name, value in fields.items():
        setattr(case, name, value)
    case.state, case.version, case.updated_at = to, version, now
    add_event(case, step, actor=actor, now=now, reason=reason, before=before, after=to, data=data)
    _tell_duplicate_reporters(case, step, now=now)
    return case


def _tell_duplicate_reporters(master: Case, step: str, *, now: datetime) -> None:
    """Every reporter of a repeat hears when the master case moves (one query when none)."""
    for dup in Case.objects.filter(master=master).only("pk", "tracking_code"):
        notify(
            "master_moved",
            case=dup,
            now=now,
            payload={
                "master": master.tracking_code,
                "step": step,
                "state": master.state,
                "tracking_code": dup.tracking_code,
            },
        )


# --- 上报: intake from every channel ---------------------------------------------------------


def _check_coordinates(lon, lat):
    if lon is None and lat is None:
        return
    if lon is None or lat is None:
        raise InvalidInput(
            fields={"lon" if lon is None else "lat": _("Give both longitude and latitude.")}
        )
    if not (-180 <= lon <= 180) or not (-90 <= lat <= 90):
        raise InvalidInput(
            _("The coordinates are not on Earth."),
            fields={
                "lon": _("Longitude must be between -180 and 180."),
                "lat": _("Latitude must be between -90 and 90."),
            },
        )


def report_case(
    *,
    channel: str,
    title: str,
    actor: User | None,
    description: str = "",
    idempotency_key: str | None = None,
    lon: float | None = None,
    lat: float | None = None,
    address: str = "",
    cell: GridCell | None = None,
    category: Category | None = None,
    priority: str = Priority.NORMAL,
    reporter_name: str = "",
    reporter_phone: str = "",
    anonymous: bool = False,
    reporter_user: User | None = None,
    external_ref: str = "",
    route_later: bool = False,
    now: datetime | None = None,
) -> tuple[Case, bool]:
    """上报: take a case in from any channel. A retry with the same (channel, key) returns the
    first case unchanged; returns (case, created). `route_later` leaves 智能分派 to the worker
    (`dispatch.actions.route_pending`), so intake answers without waiting for it."""
    now = _now(now)
    if channel not in CHANNELS:
        raise InvalidInput(fields={"channel": _("Unknown channel.")})
    if priority not in PRIORITIES:
        raise InvalidInput(fields={"priority": _("Unknown priority.")})
    title = _require((title or "").strip(), "title", _("A title is required."))
    if len(title) > 200:
        raise InvalidInput(fields={"title": _("At most 200 characters.")})
    if len(description or "") > 5000:
        raise InvalidInput(fields={"description": _("At most 5000 characters.")})
    _check_coordinates(lon, lat)
    phone = "" if anonymous else (reporter_phone or "").strip()
    if phone and not (phone.replace("-", "").replace("+", "").isdigit() and 5 <= len(phone) <= 20):
        raise InvalidInput(fields={"reporter_phone": _("Not a phone number.")})

    flag, candidates = LocationFlag.NONE, []
    if cell is None and lon is not None:
        found = locate(lon, lat)
        cell, flag = found.cell, found.flag
        candidates = [{"id": c.pk, "code": c.code, "name": c.name} for c in found.candidates]
    elif cell is not None:
        flag = LocationFlag.OK
    if cell is None:
        cell = GridCell.objects.filter(level=GridLevel.COUNTY).order_by("path").first()
        if cell is None:
            raise InvalidInput(_("No grid has been set up yet."))

    case = Case(
        channel=channel,
        idempotency_key=idempotency_key or None,
        title=title,
        description=description or "",
        lon=lon,
        lat=lat,
        address=address or "",
        cell=cell,
        handling_cell=cell,
        location_flag=flag,
        location_candidates=candidates,
        category=category,
        priority=priority,
        anonymous=anonymous,
        reporter_name="" if anonymous else (reporter_name or "").strip()[:50],
        reporter_phone=phone,
        reporter_phone_index=phone_index(phone),
        reporter_user=reporter_user,
        external_ref=external_ref or "",
        reported_at=now,
        routing_pending=route_later,
    )
    event = _event(
        case,
        EventKind.REPORT,
        actor=actor,
        now=now,
        after=case.state,
        data={"channel": channel, "location": flag},
        actor_name="" if actor else _reporter_label(case),
    )
    # Case and event in one statement; a concurrent retry that won the key makes it a no-op.
    if not insert_with_child(
        case,
        event,
        child_fk="case",
        conflict=("channel", "idempotency_key"),
        conflict_where="idempotency_key IS NOT NULL",
    ):
        existing = Case.objects.filter(channel=channel, idempotency_key=idempotency_key).first()
        if existing is None:
            raise Conflict()
        return existing, False
    case.report_event = event
    return case, True


def _reporter_label(case: Case) -> str:
    """Who reported, for staff reading the timeline, when no account did: 群众 by channel, with
    the name masked (the timeline is no place for personal data)."""
    with translation.override(settings.LANGUAGE_CODE):
        channel = str(Channel(case.channel).label)
        if case.anonymous or not case.reporter_name:
            return _("Anonymous resident (%(channel)s)") % {"channel": channel}
        return _("%(name)s (%(channel)s)") % {
            "name": mask_name(case.reporter_name),
            "channel": channel,
        }


# --- 分派 -----------------------------------------------------------------------------------


@transaction.atomic
def dispatch_case(
    case: Case,
    *,
    actor: User,
    unit: Unit | None = None,
    assignee: User | None = None,
    helpers: list[Unit] | None = None,
    due_at: datetime | None = None,
    note: str = "",
    now: datetime | None = None,
) -> Case:
    """派单: hand the case to the lead unit (主办, with helpers 协办) or a grid worker, and
    start the clocks to accept and to resolve."""
    now = _now(now)
    if unit is None and assignee is None:
        raise InvalidInput(fields={"unit": _("Choose a unit or a grid worker.")})
    helpers = [h for h in (helpers or []) if h != unit]
    limits = deadlines.limits_for(case.category, case.priority)
    if case.state == CaseState.REOPENED and case.due_at:
        warn_at, due = case.warn_at, case.due_at  # 重办 keeps the clock it was given
    else:
        warn_at, due = deadlines.resolve_clock(now, limits)
    if due_at is not None:
        if due_at <= now:
            raise InvalidInput(fields={"due_at": _("The deadline must be in the future.")})
        due = due_at
        warn_at = deadlines.warn_time(now, due)
    accept_due = deadlines.accept_deadline(now, limits)
    redispatch = case.state != CaseState.NEW
    case = _move(
        case,
        "dispatch",
        actor=actor,
        now=now,
        reason=note,
        data={
            "unit": unit.name if unit else "",
            "unit_id": unit.pk if unit else None,
            "assignee": str(assignee) if assignee else "",
            "helpers": [h.name for h in helpers],
        },
        unit=unit,
        assignee=assignee,
        dispatched_at=now,
        accept_due_at=accept_due,
        clock_started_at=now,
        warn_at=warn_at,
        due_at=due,
        accepted_at=None,
    )
    if redispatch:  # tasks of an earlier dispatch are replaced by this one
        CaseTask.objects.filter(case=case).delete()
    if unit is not None:
        CaseTask.objects.create(case=case, unit=unit, role=TaskRole.LEAD, due_at=due)
    for helper in helpers:
        CaseTask.objects.create(case=case, unit=helper, role=TaskRole.HELPER, due_at=due)
        notify("joint_task", case=case, unit=helper, now=now, payload={"role": "helper"})
    if helpers:
        add_event(
            case,
            EventKind.JOINT,
            actor=actor,
            now=now,
            data={"lead": unit.name if unit else "", "helpers": [h.name for h in helpers]},
        )
    notify(
        "new_case",
        case=case,
        unit=unit,
        user=assignee,
        now=now,
        payload={"title": case.title, "due_at": due.isoformat()},
    )
    return case


def grid_worker_for(case: Case) -> User | None:
    workers = on_duty_grid_workers(case.cell)
    return workers[0] if workers else None


@transaction.atomic
def return_case(case: Case, *, reason: str, actor: User, now: datetime | None = None) -> Case:
    """退单: the unit says the case is not theirs; it goes back to the dispatcher."""
    now = _now(now)
    _require(reason, "reason", _("Say why the case is returned."))
    unit = case.unit
    case = _move(
        case,
        "return",
        actor=actor,
        now=now,
        reason=reason,
        data={"unit": unit.name if unit else ""},
    )
    notify("case_returned", case=case, now=now, payload={"reason": reason})
    return case


@transaction.atomic
def accept_case(case: Case, *, actor: User, now: datetime | None = None) -> Case:
    """签收: the unit (or grid worker) takes the case on."""
    now = _now(now)
    late = bool(case.accept_due_at and now > case.accept_due_at)
    return _move(case, "accept", actor=actor, now=now, accepted_at=now, data={"late": late})


@transaction.atomic
def start_case(case: Case, *, actor: User, now: datetime | None = None) -> Case:
    """处置: handling has started on site."""
    return _move(case, "start", actor=actor, now=_now(now))


@transaction.atomic
def pause_case(case: Case, *, reason: str, actor: User, now: datetime | None = None) -> Case:
    """挂起: waiting for information; the clock stops until resumed."""
    now = _now(now)
    _require(reason, "reason", _("Say what the case is waiting for."))
    return _move(case, "pause", actor=actor, now=now, reason=reason, paused_at=now)


@transaction.atomic
def resume_case(case: Case, *, actor: User, now: datetime | None = None) -> Case:
    """恢复: the clock runs again; the deadlines move by the working time spent paused."""
    now = _now(now)
    paused_from = case.paused_at or now
    return _move(
        case,
        "resume",
        actor=actor,
        now=now,
        paused_at=None,
        due_at=deadlines.shift_for_pause(case.due_at, paused_from, now),
        warn_at=deadlines.shift_for_pause(case.warn_at, paused_from, now),
        data={
            "paused_hours": round(deadlines.calendar().working_hours_between(paused_from, now), 2)
        },
    )


@transaction.atomic
def resolve_case(
    case: Case,
    *,
    outcome: str,
    note: str,
    actor: User,
    lon: float | None = None,
    lat: float | None = None,
    now: datetime | None = None,
) -> Case:
    """办结: the handler's result, with where they stood when they resolved it (a grid worker's
    phone sends its position). The resident's satisfaction is asked separately."""
    now = _now(now)
    if outcome not in Outcome.values:
        raise InvalidInput(fields={"outcome": _("Choose an outcome.")})
    _require(note, "note", _("Describe what was done."))
    _check_coordinates(lon, lat)
    open_helpers = CaseTask.objects.filter(case=case, role=TaskRole.HELPER, done_at__isnull=True)
    data = {"outcome": outcome, "open_helper_tasks": open_helpers.count()}
    if lon is not None and lat is not None:
        data["position"] = [lon, lat]
    case = _move(
        case,
        "resolve",
        actor=actor,
        now=now,
        reason=note,
        data=data,
        outcome=outcome,
        resolution_note=note,
        resolved_at=now,
        resolved_level=case.handling_cell.level,
    )
    CaseTask.objects.filter(case=case, role=TaskRole.LEAD, done_at__isnull=True).update(
        done_at=now, note=note
    )
    if case.reporter_phone or case.reporter_user_id:
        notify("ask_rating", case=case, now=now, payload={"tracking_code": case.tracking_code})
    return case


@transaction.atomic
def finish_task(
    case: Case, *, unit: Unit, note: str, actor: User, now: datetime | None = None
) -> CaseTask:
    """协办 done: a helping unit reports its part to the lead unit."""
    now = _now(now)
    _require(note, "note", _("Describe what was done."))
    won = CaseTask.objects.filter(case=case, unit=unit, done_at__isnull=True).update(
        done_at=now, note=note
    )
    if won != 1:
        raise Conflict(_("This unit has no open task on the case."))
    add_event(
        case, EventKind.TASK_DONE, actor=actor, now=now, reason=note, data={"unit": unit.name}
    )
    return CaseTask.objects.get(case=case, unit=unit)


@transaction.atomic
def rate_case(
    case: Case,
    *,
    satisfaction: str,
    comment: str = "",
    actor: User | None,
    now: datetime | None = None,
) -> Case:
    """评价: the resident's satisfaction. 不满意 reopens the case under supervision."""
    now = _now(now)
    if satisfaction not in Satisfaction.values:
        raise InvalidInput(fields={"satisfaction": _("Choose a rating.")})
    case = _move(
        case,
        "rate",
        actor=actor,
        now=now,
        reason=comment,
        data={"satisfaction": satisfaction},
        satisfaction=satisfaction,
        rating_comment=comment or "",
        rated_at=now,
    )
    if satisfaction == Satisfaction.UNSATISFIED:
        case = reopen_case(
            case, reason=comment or _("The resident is not satisfied."), actor=actor, now=now
        )
    return case


@transaction.atomic
def reopen_case(
    case: Case, *, reason: str, actor: User | None, now: datetime | None = None
) -> Case:
    """重办: back to the same unit with a new clock and a 督办 order watching it."""
    now = _now(now)
    _require(reason, "reason", _("Say why the case is reopened."))
    limits = deadlines.limits_for(case.category, case.priority)
    warn_at, due = deadlines.resolve_clock(now, limits)
    case = _move(
        case,
        "reopen",
        actor=actor,
        now=now,
        reason=reason,
        clock_started_at=now,
        warn_at=warn_at,
        due_at=due,
        accept_due_at=deadlines.accept_deadline(now, limits),
        resolved_at=None,
        outcome="",
        accepted_at=None,
    )
    open_supervision(
        case=case,
        unit=case.unit,
        level=SupervisionLevel.COMMAND_CENTRE,
        demand=_("Reopened: %(reason)s") % {"reason": reason},
        due_at=due,
        actor=actor,
        now=now,
    )
    if case.unit_id or case.assignee_id:
        notify(
            "case_reopened",
            case=case,
            unit=case.unit,
            user=case.assignee,
            now=now,
            payload={"reason": reason},
        )
    return case


@transaction.atomic
def close_case(case: Case, *, actor: User, reason: str = "", now: datetime | None = None) -> Case:
    """归档: the loop is finished (or the case was invalid: a reason is then required)."""
    now = _now(now)
    if case.state == CaseState.NEW:
        _require(reason, "reason", _("Say why the case is closed without handling."))
    return _move(case, "close", actor=actor, now=now, reason=reason, closed_at=now)


@transaction.atomic
def escalate_case(case: Case, *, reason: str, actor: User, now: datetime | None = None) -> Case:
    """上报 (联动处置): a grid passes the case up to its township, a township to the county.
    The case goes back to 待受理 at the higher level, whose dispatcher sends it on."""
    now = _now(now)
    _require(reason, "reason", _("Say why the case must go up."))
    here = case.handling_cell
    ancestors = here.ancestors()
    if here.level > GridLevel.TOWNSHIP:
        target = next((c for c in ancestors if c.level == GridLevel.TOWNSHIP), None)
    else:
        target = next((c for c in ancestors if c.level == GridLevel.COUNTY), None)
    if target is None:
        raise Conflict(_("The case is already at the top of the grid."))
    case = _move(
        case,
        "escalate",
        actor=actor,
        now=now,
        reason=reason,
        data={"from": here.name, "from_code": here.code, "to": target.name, "to_code": target.code},
        handling_cell=target,
        unit=None,
        assignee=None,
        escalation_count=case.escalation_count + 1,
        accept_due_at=None,
        warn_at=None,
        due_at=None,
        clock_started_at=None,
        accepted_at=None,
    )
    CaseTask.objects.filter(case=case, done_at__isnull=True).delete()
    notify("case_escalated", case=case, now=now, payload={"to": target.code})
    return case


# --- 督办, 批办, replies ----------------------------------------------------------------------


def open_supervision(*, case, unit, level, demand, due_at, actor, now, dedupe_key=None):
    """督办 order in the caller's transaction; the sweep passes a dedupe key so an automatic
    order is opened once per deadline."""
    order = SupervisionOrder.objects.create(
        case=case,
        unit=unit,
        level=level,
        demand=demand,
        due_at=due_at,
        opened_by=actor,
        opened_at=now,
        dedupe_key=dedupe_key,
    )
    if case is not None:
        add_event(
            case,
            EventKind.SUPERVISE,
            actor=actor,
            now=now,
            reason=demand,
            data={"order": order.pk, "level": level},
        )
    notify(
        "supervision",
        case=case,
        unit=unit,
        now=now,
        payload={"order": order.pk, "level": level, "demand": demand},
    )
    return order


def _check_supervision(level: str, demand: str, due_at: datetime, now: datetime) -> None:
    if level not in SupervisionLevel.values:
        raise InvalidInput(fields={"level": _("Unknown supervision level.")})
    _require(demand, "demand", _("State the demand."))
    if due_at <= now:
        raise InvalidInput(fields={"due_at": _("The deadline must be in the future.")})


@transaction.atomic
def supervise_case(
    case: Case,
    *,
    level: str,
    demand: str,
    due_at: datetime,
    actor: User,
    now: datetime | None = None,
) -> SupervisionOrder:
    """督办: a supervisor demands an answer from the handling unit by a deadline."""
    now = _now(now)
    _check_supervision(level, demand, due_at, now)
    return open_supervision(
        case=case, unit=case.unit, level=level, demand=demand, due_at=due_at, actor=actor, now=now
    )


@transaction.atomic
def supervise_unit(
    unit: Unit,
    *,
    level: str,
    demand: str,
    due_at: datetime,
    actor: User,
    now: datetime | None = None,
) -> SupervisionOrder:
    """督办 on a unit as a whole (for example its overdue rate)."""
    now = _now(now)
    _check_supervision(level, demand, due_at, now)
    return open_supervision(
        case=None, unit=unit, level=level, demand=demand, due_at=due_at, actor=actor, now=now
    )


@transaction.atomic
def answer_supervision(
    order: SupervisionOrder, *, answer: str, actor: User, now: datetime | None = None
) -> SupervisionOrder:
    """The unit answers a 督办 order."""
    now = _now(now)
    _require(answer, "answer", _("Write the answer."))
    won = SupervisionOrder.objects.filter(pk=order.pk, state=SupervisionState.OPEN).update(
        state=SupervisionState.ANSWERED, answer=answer, answered_by=actor, answered_at=now
    )
    if won != 1:
        raise Conflict(_("This supervision order is no longer open."))
    if order.case_id:
        add_event(
            order.case,
            EventKind.SUPERVISION_ANSWER,
            actor=actor,
            now=now,
            reason=answer,
            data={"order": order.pk, "late": now > order.due_at},
        )
    order.refresh_from_db()
    return order


@transaction.atomic
def instruct_case(
    case: Case, *, text: str, actor: User, now: datetime | None = None
) -> LeaderInstruction:
    """批办: a leader's instruction, tracked until its result is recorded."""
    now = _now(now)
    _require(text, "text", _("Write the instruction."))
    item = LeaderInstruction.objects.create(case=case, leader=actor, text=text, given_at=now)
    add_event(
        case, EventKind.INSTRUCT, actor=actor, now=now, reason=text, data={"instruction": item.pk}
    )
    notify("instruction", case=case, unit=case.unit, now=now, payload={"instruction": item.pk})
    return item


@transaction.atomic
def record_instruction_result(
    item: LeaderInstruction, *, result: str, actor: User, now: datetime | None = None
) -> LeaderInstruction:
    """批办 result: what was done about a leader's instruction; recorded once."""
    now = _now(now)
    _require(result, "result", _("Describe the result."))
    won = LeaderInstruction.objects.filter(pk=item.pk, result_at__isnull=True).update(
        result=result, result_at=now
    )
    if won != 1:
        raise Conflict(_("A result has already been recorded."))
    add_event(
        item.case,
        EventKind.INSTRUCTION_RESULT,
        actor=actor,
        now=now,
        reason=result,
        data={"instruction": item.pk},
    )
    item.refresh_from_db()
    return item


@transaction.atomic
def reply_to_reporter(
    case: Case, *, text: str, actor: User, now: datetime | None = None
) -> CaseEvent:
    """反馈: a public message to the reporter, shown on the tracking page."""
    now = _now(now)
    _require(text, "text", _("Write the reply."))
    return add_event(
        case,
        EventKind.REPLY,
        actor=actor,
        now=now,
        reason=text,
        audience=Audience.PUBLIC,
        data={"text": text},
    )


@transaction.atomic
def reveal_reporter_phone(case: Case, *, purpose: str, actor: User) -> str:
    """Show the clear phone number; the read is logged with who, when and why."""
    _require(purpose, "purpose", _("Say why you need the number."))
    record_personal_data_access(actor=actor, obj=case, field="reporter_phone", purpose=purpose)
    add_event(
        case,
        EventKind.REVEAL,
        actor=actor,
        now=timezone.now(),
        reason=purpose,
        audience=Audience.INTERNAL,
    )
    return case.reporter_phone


@transaction.atomic
def add_attachment(
    case: Case,
    *,
    upload,
    actor: User | None,
    public: bool = False,
    idempotency_key: str | None = None,
) -> tuple[Attachment, bool]:
    """Attach a photo or document, within the size and type limits. A retry with the same
    `idempotency_key` on the same case returns the first attachment; returns (it, created)."""
    if idempotency_key:
        existing = Attachment.objects.filter(case=case, idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing, False
    check_size(upload)
    content_type = (getattr(upload, "content_type", "") or "").split(";")[0]
    if content_type not in settings.WANGGE_ATTACHMENT_TYPES:
        raise InvalidInput(fields={"file": _("This file type is not accepted.")})
    upload = clean_image(upload)  # a photo keeps its pixels, not the GPS position of a home
    try:
        with transaction.atomic():  # a savepoint: a concurrent retry may win the key
            attachment = Attachment.objects.create(
                case=case,
                file=upload,
                original_name=upload.name[:200],
                content_type=content_type,
                size=upload.size,
                uploaded_by=actor if actor and actor.pk else None,
                is_public=public,
                idempotency_key=idempotency_key or None,
            )
    except IntegrityError:
        existing = Attachment.objects.filter(case=case, idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return existing, False
    return attachment, True


# --- the dispatcher's saved queue views -------------------------------------------------------


def save_queue_view(user, *, name: str, query: str) -> SavedView:
    """Keep the queue filters under a name; the same name again replaces its filters."""
    view, _created = SavedView.objects.update_or_create(
        user=user, name=name.strip(), defaults={"query": query}
    )
    return view


def delete_queue_view(user, view_id: int) -> None:
    deleted, _rows = SavedView.objects.filter(pk=view_id, user=user).delete()
    if not deleted:
        raise NotFound()


# --- 未诉先办: repeats and places ----------------------------------------------------------------


@transaction.atomic
def link_duplicate(
    case: Case, *, master: Case, score: float, actor: User | None, now: datetime | None = None
) -> Case:
    """并案: the case repeats `master`. It points at the master from now on; if nobody has
    started on it yet it is closed into the master, and its reporter follows the master."""
    now = _now(now)
    if master.pk == case.pk or master.master_id is not None:
        raise InvalidInput(fields={"master": _("Choose a master case that is no repeat itself.")})
    if case.master_id is not None:
        raise Conflict(_("This case is already linked to a master case."))
    won = Case.objects.filter(pk=case.pk, master__isnull=True).update(master=master)
    if won != 1:
        raise CaseChangedMeanwhile()
    case.master = master
    add_event(
        case, EventKind.MERGE, actor=actor, now=now, audience=Audience.PUBLIC,
        data={"master": master.tracking_code, "master_id": master.pk, "score": round(score, 3)},
    )  # fmt: skip
    if case.state == CaseState.NEW:
        case = close_case(
            case, actor=actor, now=now,
            reason=_("Merged into %(code)s") % {"code": master.tracking_code},
        )  # fmt: skip
    return case


@transaction.atomic
def relocate_case(
    case: Case, *, cell: GridCell, how: str, actor: User | None, now: datetime | None = None
) -> Case:
    """定位: place a case that came without coordinates (a hotline call, an address string) in
    the grid cell named in its text. Only while nobody handles it yet."""
    now = _now(now)
    if case.state != CaseState.NEW:
        raise IllegalTransition(state=CaseState(case.state).label)
    won = Case.objects.filter(pk=case.pk, version=case.version).update(
        cell=cell, handling_cell=cell, location_flag=LocationFlag.OK,
        version=case.version + 1, updated_at=now,
    )  # fmt: skip
    if won != 1:
        raise CaseChangedMeanwhile()
    before = case.cell
    case.cell = case.handling_cell = cell
    case.location_flag, case.version, case.updated_at = LocationFlag.OK, case.version + 1, now
    add_event(
        case, EventKind.RELOCATE, actor=actor, now=now,
        data={"from": before.code, "to": cell.code, "to_name": cell.name, "how": how},
    )  # fmt: skip
    return case
