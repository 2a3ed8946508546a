"""督办 over JSON: the open orders a user must answer or watches (overdue first), the unit's
answer, and a supervisor's order on a unit as a whole.

Scope first, as for cases: an order is the caller's to answer when its unit is one of their
units or its case is in their scope to answer 督办; supervisors see the orders in their part of
the grid. Any other order answers 404, like a missing id; one they can see but not answer, 403.
"""

from django.db.models import BooleanField, Q, QuerySet, When
from django.db.models import Case as SqlCase
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Status
from ninja.pagination import PageNumberPagination, paginate

from wangge.accounts.models import Unit, User
from wangge.accounts.permissions import Perm, active_assignments, has_perm
from wangge.cases import actions
from wangge.cases.models import (
    CaseTask,
    SupervisionLevel,
    SupervisionOrder,
    SupervisionState,
    TaskRole,
)
from wangge.cases.queries import get_case_for, visible_cases
from wangge.cases.schemas import AnswerIn, SuperviseIn, SupervisionFilters, SupervisionOut
from wangge.lib.errors import InvalidInput, NotFound, PermissionDenied

router = Router(tags=["supervision"])

# --- read side, shared with the case page (its place is cases/queries.py) ---------------------

# 反馈 is written by whoever handles the case or dispatches it (the hotline answers residents).
REPLY_PERMS = (Perm.HANDLE_CASE, Perm.DISPATCH_CASE)
ORDER_RELATED = ("case", "unit", "opened_by", "answered_by")


def get_case_for_any(user: User, case_id: int, perms: tuple[Perm, ...]):
    """get_case_for with the first of `perms` that covers the case. Missing or out of every
    scope is 404; visible but allowed by none of them is 403."""
    for perm in perms[:-1]:
        try:
            return get_case_for(user, case_id, perm)
        except PermissionDenied:
            continue
    return get_case_for(user, case_id, perms[-1])


def answerable_q(user: User) -> Q | None:
    """Orders the user answers: their units' orders, and orders on cases in their scope to answer
    督办. None means none."""
    assignments = active_assignments(user, Perm.ANSWER_SUPERVISION)
    if not assignments:
        return None
    q = Q(case__in=visible_cases(user, Perm.ANSWER_SUPERVISION).values("pk"))
    units = {a.unit_id for a in assignments if a.unit_id}
    return q | Q(unit__in=units) if units else q


def supervised_q(user: User) -> Q | None:
    """Orders a supervisor watches: on cases in their scope, and on units of their grid part."""
    assignments = active_assignments(user, Perm.SUPERVISE)
    if not assignments:
        return None
    q = Q(case__in=visible_cases(user, Perm.SUPERVISE).values("pk"))
    for a in assignments:
        if a.cell is not None:
            q |= Q(case__isnull=True, unit__cell__path__startswith=a.cell.path)
        elif a.unit_id:
            q |= Q(case__isnull=True, unit=a.unit_id)
    return q


def visible_orders(user: User) -> QuerySet[SupervisionOrder]:
    parts = [q for q in (answerable_q(user), supervised_q(user)) if q is not None]
    if not parts:
        return SupervisionOrder.objects.none()
    scope = parts[0] if len(parts) == 1 else parts[0] | parts[1]
    return SupervisionOrder.objects.filter(scope)


def may_answer(user: User, order: SupervisionOrder) -> bool:
    q = answerable_q(user)
    return q is not None and SupervisionOrder.objects.filter(q, pk=order.pk).exists()


def get_order_to_answer(user: User, order_id: int) -> SupervisionOrder:
    q = answerable_q(user)
    base = SupervisionOrder.objects.select_related(*ORDER_RELATED)
    order = base.filter(q, pk=order_id).first() if q is not None else None
    if order is not None:
        return order
    seen = Q(case__in=visible_cases(user).values("pk"))
    watched = supervised_q(user)
    if watched is not None:
        seen |= watched
    if SupervisionOrder.objects.filter(seen, pk=order_id).exists():
        raise PermissionDenied()
    raise NotFound()


def helper_tasks_for(user: User, case) -> QuerySet[CaseTask]:
    """协办 tasks on the case of the units the user handles for."""
    units = {a.unit_id for a in active_assignments(user, Perm.HANDLE_CASE) if a.unit_id}
    return (
        CaseTask.objects.filter(case=case, role=TaskRole.HELPER, unit__in=units)
        .select_related("unit")
        .order_by("unit__code")
    )


def helper_unit_for(user: User, case, unit_id: int | None = None) -> Unit:
    """The caller's helping unit on the case (the one named, or the one with an open task).
    Only a handler of a helping unit may report its part done."""
    tasks = [t for t in helper_tasks_for(user, case) if unit_id is None or t.unit_id == unit_id]
    if not tasks:
        raise PermissionDenied(_("Only a handler of a helping unit of this case can do this."))
    tasks.sort(key=lambda t: (t.done_at is not None, t.unit.code))
    return tasks[0].unit


def supervisable_unit(user: User, unit_id: int) -> Unit:
    """A unit the supervisor may order: active and in their part of the grid."""
    assignments = active_assignments(user, Perm.SUPERVISE)
    if not assignments:
        raise PermissionDenied()
    unit = Unit.objects.select_related("cell").filter(pk=unit_id, is_active=True).first()
    if unit is None:
        raise NotFound()
    for a in assignments:
        in_grid = a.cell is not None and unit.cell and unit.cell.path.startswith(a.cell.path)
        if in_grid or a.unit_id == unit.pk:
            return unit
    raise NotFound()  # a unit outside their part of the grid looks like a missing one


def with_overdue(qs: QuerySet[SupervisionOrder], *, now) -> QuerySet[SupervisionOrder]:
    overdue = SqlCase(
        When(state=SupervisionState.OPEN, due_at__lt=now, then=True),
        default=False,
        output_field=BooleanField(),
    )
    return qs.annotate(overdue=overdue)


# --- endpoints --------------------------------------------------------------------------------


@router.get("/supervisions", response=list[SupervisionOut])
@paginate(PageNumberPagination, page_size=50)
def list_supervisions(request, filters: Query[SupervisionFilters]):
    """督办 orders the caller answers or watches, open ones unless `state` says otherwise;
    overdue first, then by the time the answer is due."""
    user = request.auth
    if not (has_perm(user, Perm.ANSWER_SUPERVISION) or has_perm(user, Perm.SUPERVISE)):
        raise PermissionDenied()
    if filters.state not in SupervisionState.values:
        raise InvalidInput(fields={"state": _("Unknown state.")})
    qs = visible_orders(user).filter(state=filters.state).select_related(*ORDER_RELATED)
    return with_overdue(qs, now=timezone.now()).order_by("-overdue", "due_at", "id")


@router.post("/supervisions/{order_id}/answer", response=SupervisionOut)
def answer(request, order_id: int, payload: AnswerIn):
    """The unit's answer to a 督办 order; an order is answered once."""
    order = get_order_to_answer(request.auth, order_id)
    return actions.answer_supervision(order, answer=payload.answer, actor=request.auth)


@router.post("/units/{unit_id}/supervise", response={201: SupervisionOut})
def supervise_unit(request, unit_id: int, payload: SuperviseIn):
    """督办 on a unit as a whole (its overdue rate, say), answered by the unit."""
    unit = supervisable_unit(request.auth, unit_id)
    if payload.level not in SupervisionLevel.values:
        raise InvalidInput(fields={"level": _("Unknown supervision level.")})
    if payload.due_at <= timezone.now():
        raise InvalidInput(fields={"due_at": _("The deadline must be in the future.")})
    order = actions.supervise_unit(
        unit, level=payload.level, demand=payload.demand, due_at=payload.due_at, actor=request.auth
    )
    return Status(201, order)
