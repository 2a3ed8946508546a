"""Locate a point in the grid: the smallest cell whose polygon contains it.

An in-memory shapely STRtree over every polygon, in a local plane in metres (`geo.to_metres`),
is built on first use. Changes in this process (signals, `move_cell`, imports) bump a generation
number, which costs nothing; the next lookup rebuilds once, under a lock, while other threads wait
for that one build. Changes made by other processes are noticed by comparing a cheap stamp of
the table (count, last change) at most every `RECHECK_SECONDS`.

Outside every polygon → the county, flagged "outside". Within WANGGE_AMBIGUOUS_METRES of a
sibling of any cell on the containing chain → flagged "ambiguous", at the deepest such level, with
the located cell first and then the deepest cell of each near sibling.
"""

import threading
import time
from dataclasses import dataclass, field

import numpy as np
import shapely
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max
from django.db.models.signals import post_delete, post_save

from wangge.grids.geo import point_to_metres, to_metres
from wangge.grids.models import GridCell, GridLevel

RECHECK_SECONDS = 5.0


@dataclass
class Located:
    cell: GridCell | None
    flag: str  # "ok", "outside", "ambiguous"
    candidates: list[GridCell] = field(default_factory=list)


@dataclass(frozen=True)
class LocatedId:
    """What `GridIndex.locate_id` finds, as cell ids (no database involved)."""

    cell_id: int | None
    flag: str
    candidate_ids: tuple[int, ...] = ()


class GridIndex:
    """Polygons of all cells in one STRtree; the deepest containing cell wins."""

    def __init__(self, rows, *, generation: int = 0, stamp=None):
        """rows: (pk, level, path, parent_id, geometry) for every cell, geometry may be None."""
        self.generation = generation
        self.stamp = stamp
        self.checked_at = time.monotonic()
        ids, levels, parents, paths, shapes = [], [], [], [], []
        county_id, county_path = None, None
        for pk, level, path, parent_id, geometry in rows:
            if level == GridLevel.COUNTY and (county_path is None or path < county_path):
                county_id, county_path = pk, path
            if not geometry:
                continue
            shape = shapely.geometry.shape(geometry)
            if shape.is_empty:
                continue
            ids.append(pk)
            levels.append(level)
            parents.append(parent_id if parent_id is not None else -1)
            paths.append(path)
            shapes.append(shape)
        self.county_id = county_id
        self.ids = np.array(ids, dtype=np.int64)
        self.levels = np.array(levels, dtype=np.int16)
        self.parents = np.array(parents, dtype=np.int64)
        self.paths = paths
        if shapes:
            x0, y0, x1, y1 = shapely.total_bounds(shapes)
            self.origin = ((x0 + x1) / 2, (y0 + y1) / 2)
        else:
            self.origin = (0.0, 0.0)
        self.geoms = to_metres(np.array(shapes, dtype=object), *self.origin)
        shapely.prepare(self.geoms)
        self.tree = shapely.STRtree(self.geoms)

    def locate_id(self, lon: float, lat: float, metres: float) -> LocatedId:
        x, y = point_to_metres(lon, lat, *self.origin)
        # One bbox query padded by `metres` finds the containing cells and every sibling
        # that can be within `metres` (its envelope must reach the padded box).
        if metres > 0:
            near = self.tree.query(shapely.box(x - metres, y - metres, x + metres, y + metres))
        else:
            near = self.tree.query(shapely.Point(x, y))
        if not len(near):
            return LocatedId(self.county_id, "outside")
        inside = shapely.intersects_xy(self.geoms[near], x, y)
        chain = near[inside]
        if not len(chain):
            return LocatedId(self.county_id, "outside")
        best = chain[np.argmax(self.levels[chain])]
        others = near[~inside]
        if not len(others):
            return LocatedId(int(self.ids[best]), "ok")
        return self._check_ambiguous(best, chain, others, x, y, metres)

    def _check_ambiguous(self, best, chain, others, x, y, metres) -> LocatedId:
        """The slow path: some cell not containing the point is near. Is it a sibling of a
        cell on the chain, within `metres`? The deepest such level decides."""
        chain_parents = self.parents[chain]
        sibling = others[np.isin(self.parents[others], chain_parents)]
        if not len(sibling):
            return LocatedId(int(self.ids[best]), "ok")
        point = shapely.Point(x, y)
        distance = shapely.distance(self.geoms[sibling], point)
        close, close_distance = sibling[distance <= metres], distance[distance <= metres]
        if not len(close):
            return LocatedId(int(self.ids[best]), "ok")
        deepest_level = self.levels[close] == self.levels[close].max()
        rivals = close[deepest_level][np.argsort(close_distance[deepest_level], kind="stable")]
        reachable = others[shapely.distance(self.geoms[others], point) <= metres].tolist()
        candidates = [int(self.ids[best])]
        for rival in rivals.tolist():
            # The deepest near cell inside the rival: where the case would go instead.
            under = [i for i in reachable if self.paths[i].startswith(self.paths[rival])]
            deepest = min(under, key=lambda i: (-self.levels[i], self.paths[i]))
            candidates.append(int(self.ids[deepest]))
        return LocatedId(candidates[0], "ambiguous", tuple(candidates))


_build_lock = threading.Lock()
_generation_lock = threading.Lock()
_generation = 0
_index: GridIndex | None = None


def invalidate(**_kwargs):
    """Mark the in-memory index stale; the next lookup rebuilds it. Cheap: safe to call often."""
    global _generation
    with _generation_lock:  # += is a read and a write; two threads must not lose one
        _generation += 1


def _invalidate_now_and_after_commit(**_kwargs):
    invalidate()
    # A lookup in another thread may rebuild before this transaction commits; do it again after.
    transaction.on_commit(invalidate)


post_save.connect(
    _invalidate_now_and_after_commit, sender=GridCell, dispatch_uid="grids_locate_invalidate_save"
)
post_delete.connect(
    _invalidate_now_and_after_commit, sender=GridCell, dispatch_uid="grids_locate_invalidate_delete"
)


def _stamp():
    row = GridCell.objects.aggregate(n=Count("id"), last=Max("updated_at"))
    return row["n"], row["last"]


def get_index() -> GridIndex:
    global _index
    index = _index
    if index is not None and index.generation == _generation:
        if time.monotonic() - index.checked_at < RECHECK_SECONDS:
            return index
        stamp = _stamp()
        if stamp == index.stamp:
            index.checked_at = time.monotonic()
            return index
    with _build_lock:
        # Another thread may have rebuilt while this one waited for the lock.
        generation, stamp = _generation, _stamp()
        index = _index
        if index is None or index.generation != generation or index.stamp != stamp:
            rows = GridCell.objects.values_list("pk", "level", "path", "parent_id", "geometry")
            index = GridIndex(list(rows), generation=generation, stamp=stamp)
            _index = index
        return index


def locate_id(lon: float, lat: float, *, metres: float | None = None) -> LocatedId:
    metres = settings.WANGGE_AMBIGUOUS_METRES if metres is None else metres
    return get_index().locate_id(lon, lat, metres)


def locate(lon: float, lat: float, *, metres: float | None = None) -> Located:
    found = locate_id(lon, lat, metres=metres)
    ids = [found.cell_id, *found.candidate_ids] if found.cell_id is not None else []
    cells = GridCell.objects.in_bulk(ids)
    if any(pk not in cells for pk in ids):
        # A cell vanished (e.g. a rolled-back transaction built the index): rebuild once.
        invalidate()
        found = locate_id(lon, lat, metres=metres)
        ids = [found.cell_id, *found.candidate_ids] if found.cell_id is not None else []
        cells = GridCell.objects.in_bulk(ids)
    cell = cells.get(found.cell_id) if found.cell_id is not None else None
    candidates = [cells[pk] for pk in found.candidate_ids if pk in cells]
    return Located(cell, found.flag, candidates)
