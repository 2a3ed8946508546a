"""Changes to the grid tree; each recorded in the audit log."""

from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Concat, Substr

from wangge.audit.actions import record_audit
from wangge.grids.models import GridCell
from wangge.lib.errors import InvalidInput


@transaction.atomic
def create_cell(
    *,
    code: str,
    name: str,
    level: int,
    parent: GridCell | None,
    geometry: dict | None = None,
    actor=None,
) -> GridCell:
    """Add a node under `parent` (one level below it)."""
    if parent is not None and level <= parent.level:
        raise InvalidInput(fields={"level": "must be below the parent's level"})
    cell = GridCell(code=code, name=name, level=level, parent=parent, geometry=geometry)
    cell.save()
    record_audit(
        actor=actor,
        action="create_cell",
        obj=cell,
        detail={
            "code": code,
            "name": name,
            "level": level,
            "parent": parent.code if parent else None,
        },
    )
    return cell


@transaction.atomic
def update_cell(cell: GridCell, *, actor=None, **changes) -> GridCell:
    """Rename or reshape a cell (not move it: see `move_cell`)."""
    before = {k: getattr(cell, k) for k in changes}
    for key, value in changes.items():
        setattr(cell, key, value)
    cell.save()
    record_audit(
        actor=actor,
        action="update_cell",
        obj=cell,
        detail={
            "before": {k: v for k, v in before.items() if k != "geometry"},
            "after": {k: v for k, v in changes.items() if k != "geometry"},
        },
    )
    return cell


@transaction.atomic
def move_cell(cell: GridCell, *, new_parent: GridCell, actor=None) -> GridCell:
    """Re-hang a subtree under another parent: one UPDATE rewrites every descendant's path."""
    if new_parent.path.startswith(cell.path):
        raise InvalidInput(fields={"parent": "cannot move a cell under itself"})
    old_path = cell.path
    new_path = GridCell.path_for(cell.code, new_parent)
    GridCell.objects.filter(path__startswith=old_path).update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1))
    )
    GridCell.objects.filter(pk=cell.pk).update(parent=new_parent)
    record_audit(
        actor=actor, action="move_cell", obj=cell, detail={"from": old_path, "to": new_path}
    )
    from wangge.grids.locate import invalidate

    invalidate()
    cell.refresh_from_db()
    return cell
