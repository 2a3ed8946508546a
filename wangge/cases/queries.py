"""Read side for cases: every read starts from what the actor may see (default deny)."""

import copy
import threading
import time

from django.db.models import BooleanField, Q, QuerySet, When
from django.db.models import Case as SqlCase
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _

from wangge.accounts.models import Role, Unit, User
from wangge.accounts.permissions import Perm, active_assignments
from wangge.cases.models import (
    Case,
    CaseTask,
    Category,
    Channel,
    SupervisionOrder,
    SupervisionState,
    TaskRole,
)
from wangge.lib.errors import NotFound, PermissionDenied


def scope_q(user, perm: Perm) -> Q | None:
    """The cases a user may act on with `perm`: their grid subtrees, their units' cases (lead or
    joint), and cases assigned to them. None means nothing."""
    scope = None
    for a in active_assignments(user, perm):
        in_cell = (
            Q(handling_cell__path__startswith=a.cell.path) | Q(cell__path__startswith=a.cell.path)
            if a.cell is not None
            else None
        )
        of_unit = Q(unit=a.unit) | Q(tasks__unit=a.unit) if a.unit is not None else None
        if a.role == Role.UNIT_HANDLER:
            # A unit's handlers work on their unit's cases, within their grid if they have one.
            part = of_unit & in_cell if in_cell is not None and of_unit is not None else of_unit
        elif a.role == Role.GRID_WORKER:
            part = Q(assignee=user) | in_cell if in_cell is not None else Q(assignee=user)
        else:
            # Dispatchers, secretaries, supervisors and leaders watch a whole grid subtree; the
            # unit on their assignment says where they sit, it does not narrow what they see.
            part = in_cell if in_cell is not None else of_unit
        if part is None:
            continue
        scope = part if scope is None else scope | part
    return scope


def visible_cases(user, perm: Perm = Perm.VIEW_CASE) -> QuerySet[Case]:
    scope = scope_q(user, perm)
    if scope is None:
        return Case.objects.none()
    ids = Case.objects.filter(scope).values("pk")  # tasks__unit joins may repeat rows
    return Case.objects.filter(pk__in=ids)


def get_case_for(user, case_id: int, perm: Perm) -> Case:
    """The case if the user may act on it with `perm`. Missing and not-yours look alike (404);
    a case they can see but not act on is 403."""
    base = Case.objects.select_related("cell", "handling_cell", "unit", "assignee", "category")
    case = base.filter(pk=case_id, pk__in=visible_cases(user, perm).values("pk")).first()
    if case is not None:
        return case
    if perm != Perm.VIEW_CASE and visible_cases(user).filter(pk=case_id).exists():
        raise PermissionDenied()
    raise NotFound()


def get_case_by_tracking_code(code: str) -> Case:
    case = Case.objects.select_related("cell", "unit").filter(tracking_code=code.upper()).first()
    if case is None:
        raise NotFound()
    return case


# --- 督办, 批办, 协办: shared by the API and the case page ----------------------------------

# 反馈 is written by whoever handles the case or dispatches it (the hotline answers residents).
REPLY_PERMS = (Perm.HANDLE_CASE, Perm.DISPATCH_CASE)
ORDER_RELATED = ("case", "unit", "opened_by", "answered_by")


# --- what residents' pages may show ----------------------------------------------------------

# Cases a visit to a household became (care.actions.visit_to_case keys them so): what a grid
# worker found in someone's home is care work, whatever category it was given.
VISIT_KEY_PREFIX = "visit:"


def public_q(prefix: str = "") -> Q:
    """Cases a public page may list or count: of a category marked public, never raised by a
    device or the care sweep (the sensor channel), never from a household visit."""
    return (
        Q(**{f"{prefix}category__is_public": True})
        & ~Q(**{f"{prefix}channel": Channel.SENSOR})
        & ~Q(
            **{
                f"{prefix}channel": Channel.PATROL,
                f"{prefix}idempotency_key__startswith": VISIT_KEY_PREFIX,
            }
        )
    )


def public_cases() -> QuerySet[Case]:
    return Case.objects.filter(public_q())


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


# --- active categories by code, kept in memory -------------------------------------------------
# Every intake names a category; the table is small and rarely edited. A save in this process
# empties the cache at once; other processes' edits are picked up within CATEGORY_TTL seconds.
CATEGORY_TTL = 30.0
_categories: dict[str, Category] = {}
_categories_loaded_at = float("-inf")
_categories_lock = threading.Lock()


def forget_categories(**_kwargs) -> None:
    global _categories_loaded_at
    _categories_loaded_at = float("-inf")


post_save.connect(forget_categories, sender=Category, dispatch_uid="cases_category_saved")
post_delete.connect(forget_categories, sender=Category, dispatch_uid="cases_category_deleted")


def active_category(code: str) -> Category | None:
    """The active category with this code, its chain up to 一级 and their owners loaded (routing
    and deadline policies read them), as a copy the caller may keep."""
    global _categories, _categories_loaded_at
    if time.monotonic() - _categories_loaded_at > CATEGORY_TTL:
        with _categories_lock:
            if time.monotonic() - _categories_loaded_at > CATEGORY_TTL:
                stamp = time.monotonic()
                rows = Category.objects.select_related(
                    "owner", "parent__owner", "parent__parent__owner"
                ).filter(is_active=True)
                _categories = {c.code: c for c in rows}
                _categories_loaded_at = stamp
    found = _categories.get(code)
    return copy.copy(found) if found is not None else None
