"""Changes to the grid tree; each recorded in the audit log."""

from dataclasses import dataclass

import shapely
from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone

from wangge.audit.actions import record_audit
from wangge.grids import geo
from wangge.grids.changes import changed_with_commit
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
    # updated_at too: .update() skips auto_now, and other processes watch it to refresh locate.
    GridCell.objects.filter(path__startswith=old_path).update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1)), updated_at=timezone.now()
    )
    GridCell.objects.filter(pk=cell.pk).update(parent=new_parent)
    record_audit(
        actor=actor, action="move_cell", obj=cell, detail={"from": old_path, "to": new_path}
    )
    changed_with_commit()  # .update() sends no signals
    cell.refresh_from_db()
    return cell


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    moved: int = 0
    unchanged: int = 0


def stored_nodes() -> dict[str, geo.Node]:
    """Every stored cell as a `geo.Node`, by code."""
    rows = GridCell.objects.values_list(
        "code", "name", "level", "path", "parent_id", "geometry", "centroid_lon", "centroid_lat"
    )
    nodes = {}
    for code, name, level, path, parent_id, geometry, lon, lat in rows:
        parent_code = path.strip("/").split("/")[-2] if parent_id else ""
        point = (lon, lat) if lon is not None and lat is not None else None
        shape = shapely_shape(geometry) if geometry else None
        if shape is None and point is not None:
            shape = shapely.Point(point)
        nodes[code] = geo.Node(code, name, level, parent_code, geometry, point, False, shape)
    return nodes


def shapely_shape(geometry: dict):
    shape = shapely.geometry.shape(geometry)
    return None if shape.is_empty else shape


def check_grid_file(
    data, *, overlap_tolerance: float = 0.01, containment_metres: float = 1.0
) -> tuple[list[geo.Node], list[geo.Problem]]:
    """Every problem of a GeoJSON grid file against the stored tree; writes nothing."""
    nodes, problems = geo.read_features(data)
    if len({n.code for n in nodes}) == len(nodes):  # with a code twice, which one is the tree?
        problems += geo.check_tree(
            nodes,
            stored_nodes(),
            overlap_tolerance=overlap_tolerance,
            containment_metres=containment_metres,
        )
    return nodes, problems


@transaction.atomic
def import_grid_file(
    data, *, actor=None, overlap_tolerance: float = 0.01, containment_metres: float = 1.0
) -> ImportSummary:
    """导入网格: create or update the cells of a GeoJSON FeatureCollection, all or nothing.

    Every problem is found before the first write; any problem raises `GridFileInvalid` with
    all of them. Re-importing the same file changes nothing.
    """
    nodes, problems = check_grid_file(
        data, overlap_tolerance=overlap_tolerance, containment_metres=containment_metres
    )
    if problems:
        raise geo.GridFileInvalid(problems)
    summary = ImportSummary()
    cells = {c.code: c for c in GridCell.objects.all()}
    # Levels strictly increase down the tree (checked), so parents come first.
    for node in sorted(nodes, key=lambda n: (n.level, n.code)):
        parent = cells[node.parent_code] if node.parent_code else None
        cell = cells.get(node.code)
        centroid = {
            "centroid_lon": node.point[0] if node.point else None,
            "centroid_lat": node.point[1] if node.point else None,
        }
        if cell is None:
            cell = create_cell(
                code=node.code,
                name=node.name,
                level=node.level,
                parent=parent,
                geometry=node.geometry,
                actor=actor,
            )
            if node.point:
                update_cell(cell, actor=actor, **centroid)
            cells[node.code] = cell
            summary.created += 1
            continue
        changed = False
        if cell.parent_id != (parent.pk if parent else None):
            move_cell(cell, new_parent=parent, actor=actor)
            # paths under the moved cell changed: reload what we hold
            cells = {c.code: c for c in GridCell.objects.all()}
            cell = cells[node.code]
            summary.moved += 1
            changed = True
        wanted = {"name": node.name, "level": node.level, "geometry": node.geometry, **centroid}
        changes = {k: v for k, v in wanted.items() if getattr(cell, k) != v}
        if changes:
            update_cell(cell, actor=actor, **changes)
            summary.updated += 1
            changed = True
        if not changed:
            summary.unchanged += 1
    changed_with_commit()
    return summary


def export_grid(root: GridCell | None = None) -> dict:
    """导出网格: the stored tree (or one subtree) as a GeoJSON FeatureCollection."""
    cells = root.subtree() if root else GridCell.objects.all()
    return {
        "type": "FeatureCollection",
        "features": [geo.feature_of(c) for c in cells.order_by("path")],
    }
