"""Read side for cases: every read starts from what the actor may see (default deny)."""

from django.db.models import Q, QuerySet

from wangge.accounts.models import Role
from wangge.accounts.permissions import Perm, active_assignments
from wangge.cases.models import Case
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
