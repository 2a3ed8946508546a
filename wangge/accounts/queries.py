"""Read side for units and staff."""

from wangge.accounts.models import Assignment, Role, Unit, User
from wangge.lib.errors import NotFound


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
