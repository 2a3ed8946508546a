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


def cells_q(user: User, perm: Perm, prefix: str = "") -> Q | None:
    """Rows whose cell (`<prefix>path`) lies in one of the grid subtrees the user holds with
    `perm`; None when they hold none (default deny: the caller returns nothing)."""
    scope = None
    for a in active_assignments(user, perm):
        if a.cell is not None:
            part = Q(**{f"{prefix}path__startswith": a.cell.path})
            scope = part if scope is None else scope | part
    return scope


def _ancestor_paths(path: str) -> list[str]:
    codes = path.strip("/").split("/")
    return ["/" + "/".join(codes[: i + 1]) + "/" for i in range(len(codes))]


def communities_q(user: User, perm: Perm, prefix: str = "") -> Q | None:
    """Like `cells_q`, and also the cells above each held cell: a grid worker assigned to one
    grid works for the whole community it lies in (its time bank, lists, village matters).
    Callers keep community-level cells."""
    scope = None
    for a in active_assignments(user, perm):
        if a.cell is not None:
            part = Q(**{f"{prefix}path__startswith": a.cell.path}) | Q(
                **{f"{prefix}path__in": _ancestor_paths(a.cell.path)}
            )
            scope = part if scope is None else scope | part
    return scope


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
