"""Read side for units, staff and the part of the grid each may see."""

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wangge.accounts.models import Assignment, Role, Unit, User
from wangge.accounts.permissions import Perm, active_assignments
from wangge.grids.models import GridCell
from wangge.lib.errors import NotFound, PermissionDenied


def get_unit(unit_id: int) -> Unit:
    unit = Unit.objects.filter(pk=unit_id, is_active=True).first()
    if unit is None:
        raise NotFound()
    return unit


def on_duty_grid_workers(cell) -> list[User]:
    """专属网格: the grid workers of the cell (or its nearest ancestor with one), deputies last."""
    codes = cell.path.strip("/").split("/")
    rows = list(
        Assignment.objects.filter(
            role=Role.GRID_WORKER, is_active=True, user__is_active=True, cell__code__in=codes
        ).select_related("user", "cell")
    )
    for code in reversed(codes):
        here = [a for a in rows if a.cell.code == code]
        if here:
            here.sort(key=lambda a: (a.is_deputy, a.user_id))
            return [a.user for a in here]
    return []


def grid_in_scope(user: User, perm: Perm, ref: str | None) -> GridCell:
    """The asked-for cell (code or id) if it lies in one of the user's grid scopes for `perm`;
    else the widest cell they hold. Out of scope answers like a missing cell: 404."""
    assignments = active_assignments(user, perm)
    if not assignments:
        raise PermissionDenied()
    scopes = [a.cell for a in assignments if a.cell is not None]
    if not scopes:
        raise NotFound(_("No grid is within your scope."))
    if not ref:
        return min(scopes, key=lambda c: (c.level, c.path))
    # Codes are administrative codes (6+ digits), so a code match is tried before an id.
    match = Q(code=ref) | Q(pk=int(ref)) if ref.isdigit() else Q(code=ref)
    found = sorted(GridCell.objects.filter(match), key=lambda c: c.code != ref)
    cell = found[0] if found else None
    if cell is None or not any(cell.is_within(scope) for scope in scopes):
        raise NotFound(_("Grid not found."))
    return cell
