"""Locate a point in the grid: the smallest cell whose polygon contains it.

An in-memory shapely STRtree over every polygon is built on first use and rebuilt when cells
change (a version counter bumped by `grids.actions`). Outside every grid → the county, flagged;
within WANGGE_AMBIGUOUS_METRES of a sibling's boundary → flagged ambiguous with both candidates.
"""

import math
import threading
from dataclasses import dataclass, field

import numpy as np
import shapely
from django.conf import settings
from django.db.models.signals import post_delete, post_save

from wangge.grids.models import GridCell, GridLevel

# Degrees of latitude per metre; longitude is scaled by cos(latitude).
DEG_PER_M = 1 / 111_320


@dataclass
class Located:
    cell: GridCell | None
    flag: str  # "ok", "outside", "ambiguous"
    candidates: list[GridCell] = field(default_factory=list)


class GridIndex:
    """Polygons of all cells in one STRtree; leaf-most containing cell wins."""

    def __init__(self, rows: list[tuple[int, int, str, dict]]):
        ids, levels, paths, geoms = [], [], [], []
        for pk, level, path, geometry in rows:
            if not geometry:
                continue
            geom = shapely.geometry.shape(geometry)
            if geom.is_empty:
                continue
            ids.append(pk)
            levels.append(level)
            paths.append(path)
            geoms.append(geom)
        self.ids = np.array(ids, dtype=np.int64)
        self.levels = np.array(levels, dtype=np.int16)
        self.paths = paths
        self.geoms = np.array(geoms, dtype=object)
        shapely.prepare(self.geoms)
        self.tree = shapely.STRtree(self.geoms)

    def containing(self, lon: float, lat: float) -> list[int]:
        """Indexes of polygons containing the point, deepest level first."""
        hits = self.tree.query(shapely.Point(lon, lat), predicate="within")
        # query(point, "within") → geometries the point lies within
        return sorted(hits.tolist(), key=lambda i: -self.levels[i])

    def near(self, lon: float, lat: float, metres: float) -> list[int]:
        pad = metres * DEG_PER_M
        pt = shapely.Point(lon, lat)
        box = shapely.box(
            lon - pad / max(math.cos(math.radians(lat)), 0.01),
            lat - pad,
            lon + pad / max(math.cos(math.radians(lat)), 0.01),
            lat + pad,
        )
        return [
            int(i)
            for i in self.tree.query(box, predicate="intersects")
            if not self.geoms[i].contains(pt)
        ]


_lock = threading.Lock()
_index: GridIndex | None = None


def invalidate(**_kwargs):
    """Drop the in-memory index; the next locate rebuilds it."""
    global _index
    with _lock:
        _index = None


def get_index() -> GridIndex:
    global _index
    with _lock:
        if _index is None:
            _index = GridIndex(
                list(GridCell.objects.values_list("pk", "level", "path", "geometry"))
            )
        return _index


post_save.connect(invalidate, sender=GridCell, dispatch_uid="grids_locate_invalidate_save")
post_delete.connect(invalidate, sender=GridCell, dispatch_uid="grids_locate_invalidate_delete")


def county() -> GridCell | None:
    return GridCell.objects.filter(level=GridLevel.COUNTY).order_by("path").first()


def locate(lon: float, lat: float, *, metres: float | None = None) -> Located:
    index = get_index()
    hits = index.containing(lon, lat)
    if not hits:
        return Located(county(), "outside")
    best = hits[0]
    cell = GridCell.objects.get(pk=int(index.ids[best]))
    metres = settings.WANGGE_AMBIGUOUS_METRES if metres is None else metres
    if metres > 0:
        # A sibling (same level, same parent) whose boundary lies within `metres`.
        parent_path = index.paths[best].rsplit("/", 2)[0] + "/"
        siblings = [
            i
            for i in index.near(lon, lat, metres)
            if index.levels[i] == index.levels[best]
            and index.paths[i].startswith(parent_path)
            and i != best
        ]
        pt = shapely.Point(lon, lat)
        scale = DEG_PER_M
        close = [i for i in siblings if index.geoms[i].distance(pt) <= metres * scale]
        if close:
            others = list(GridCell.objects.filter(pk__in=[int(index.ids[i]) for i in close]))
            return Located(cell, "ambiguous", [cell, *others])
    return Located(cell, "ok")
