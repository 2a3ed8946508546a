"""Locate a point in the grid: the smallest cell whose polygon contains it.

An in-memory index (`GridIndex`: a shapely STRtree over the cells' polygons, cut into pieces, in
a local plane in metres, see `geo.to_metres`) is built on first use. Changes in this process
(signals, `move_cell`, imports) bump a generation number, which costs nothing; the next lookup
rebuilds once, under a lock, while other threads wait for that one build. Changes made by other
processes (or rolled back) are noticed by comparing a cheap stamp of the table (count, last
change) at most every `RECHECK_SECONDS`.

Outside every polygon → the county, flagged "outside". Within WANGGE_AMBIGUOUS_METRES of a
sibling of any cell on the line from the county down to the deepest containing cell → flagged
"ambiguous", at the deepest such level, with the located cell first and then, for each near
sibling, its deepest cell within the distance (where the case would go instead).
"""

import math
import threading
import time
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import shapely
from django.conf import settings

from wangge.grids import changes
from wangge.grids.geo import M_PER_DEG, to_metres
from wangge.grids.models import GridCell, GridLevel

RECHECK_SECONDS = 5.0


@dataclass
class Located:
    cell: GridCell | None
    flag: str  # "ok", "outside", "ambiguous"
    candidates: list[GridCell] = field(default_factory=list)


class LocatedId(NamedTuple):  # a NamedTuple: built on every lookup, and cheaper than a dataclass
    """What `GridIndex.locate_id` finds, as cell ids (no database involved)."""

    cell_id: int | None
    flag: str
    candidate_ids: tuple[int, ...] = ()


class GridIndex:
    """Every cell's polygon, cut into pieces so that one tree query answers most lookups.

    A piece is the part of a cell not covered by its children (for a fully divided cell:
    nothing), split into its core, the points farther than `core_metres` from the cell's
    edge, and the rim around it. So a point lies in one piece, which names its deepest cell;
    a point in a core cannot be within `core_metres` of any other cell, at any level, so the
    usual answer measures no distance. Near an edge, the few cells within `core_metres` of the
    deepest cell (found once, at build time) are measured.
    """

    def __init__(self, rows, *, core_metres: float = 30.0, generation: int = 0, stamp=None):
        """rows: (pk, level, path, parent_id, geometry[, name, code]) for every cell, geometry
        may be None."""
        self.generation = generation
        self.stamp = stamp
        self.checked_at = time.monotonic()
        self.core_metres = core_metres
        ids, levels, paths, shapes = [], [], [], []
        county_id, county_path = None, None
        # What a located case needs of its cell, so that locating reads nothing from the database.
        self.facts = {row[0]: (*row[1:4], *(row[5:7] or ("", ""))) for row in rows}
        for pk, level, path, _parent_id, geometry, *_name_code in rows:
            if level == GridLevel.COUNTY and (county_path is None or path < county_path):
                county_id, county_path = pk, path
            if not geometry:
                continue
            shape = shapely.geometry.shape(geometry)
            if shape.is_empty:
                continue
            ids.append(pk)
            levels.append(level)
            paths.append(path)
            shapes.append(shape)
        self.county_id = county_id
        # Plain lists: a lookup touches a handful of entries, where numpy's overhead dominates.
        self.ids, self.levels, self.paths = ids, levels, paths
        self.n = n = len(shapes)
        # The deepest cell wins, then the smallest path. Entry i is cell i's core, n + i its rim.
        rank = [0] * n
        for order, i in enumerate(sorted(range(n), key=paths.__getitem__)):
            rank[i] = levels[i] * (n + 1) + (n - order)
        self._rank = rank.__getitem__
        self._entry_rank = (rank + rank).__getitem__
        # Each cell's path as ids of its prefixes, to see where two paths part.
        known: dict[str, int] = {}
        self.prefix_rows = []
        for path in paths:
            parts = path.strip("/").split("/")
            self.prefix_rows.append(
                tuple(
                    known.setdefault("/".join(parts[: k + 1]), len(known))
                    for k in range(len(parts))
                )
            )
        if shapes:
            x0, y0, x1, y1 = shapely.total_bounds(shapes)
            self.origin = ((x0 + x1) / 2, (y0 + y1) / 2)
        else:
            self.origin = (0.0, 0.0)
        self._kx = math.cos(math.radians(self.origin[1])) * M_PER_DEG
        self.cells = to_metres(np.array(shapes, dtype=object), *self.origin)
        shapely.prepare(self.cells)
        self.cell_list = list(self.cells)
        self.bounds = [tuple(b) for b in shapely.bounds(self.cells).tolist()]
        self.cell_tree = shapely.STRtree(self.cells)
        self.tree = shapely.STRtree(self._pieces(core_metres))
        self._find_neighbours(core_metres)

    def _pieces(self, core_metres: float):
        n, paths, cells = self.n, self.paths, self.cells
        by_path = {p: i for i, p in enumerate(paths)}
        children: dict[int, list[int]] = {}
        for i, path in enumerate(paths):
            # the nearest ancestor that has a polygon covers this cell
            parts = path.strip("/").split("/")
            for k in range(len(parts) - 1, 0, -1):
                parent = by_path.get("/" + "/".join(parts[:k]) + "/")
                if parent is not None:
                    children.setdefault(parent, []).append(i)
                    break
        own = cells.copy()
        if children:
            parents = list(children)
            covered = [shapely.union_all(cells[children[p]]) for p in parents]
            own[parents] = shapely.difference(cells[parents], covered)
        if core_metres <= 0:
            return np.concatenate([np.full(n, None, dtype=object), own])
        # 1 m more: buffering draws arcs as chords, which would shave the margin a little.
        core = shapely.buffer(cells, -(core_metres + 1.0), quad_segs=4)
        return np.concatenate([shapely.intersection(own, core), shapely.difference(own, core)])

    def _find_neighbours(self, metres: float) -> None:
        """For each cell, the cells within `metres` of it that are neither above nor below it."""
        n = self.n
        if n == 0 or metres <= 0:
            self.neighbours = [[] for _ in range(n)]
            return
        width = max(len(r) for r in self.prefix_rows)
        prefix = np.array([r + (-1,) * (width - len(r)) for r in self.prefix_rows], dtype=np.int64)
        depth = np.array([len(r) for r in self.prefix_rows], dtype=np.int64)
        i, j = self.cell_tree.query(self.cells, predicate="dwithin", distance=metres)
        di, dj = depth[i], depth[j]
        j_above = (dj <= di) & (prefix[i, dj - 1] == prefix[j, dj - 1])  # or the same cell
        i_above = (di < dj) & (prefix[j, di - 1] == prefix[i, di - 1])
        keep = ~j_above & ~i_above
        i, j = i[keep], j[keep]
        order = np.argsort(i, kind="stable")
        starts = np.searchsorted(i[order], np.arange(n + 1)).tolist()
        j = j[order].tolist()
        self.neighbours = [j[starts[c] : starts[c + 1]] for c in range(n)]

    def cell(self, pk: int) -> GridCell:
        level, path, parent_id, name, code = self.facts[pk]
        known = {"id": pk, "level": level, "path": path, "parent_id": parent_id}
        known |= {"name": name, "code": code}
        return GridCell.from_db("default", CELL_FIELDS, [known[f] for f in CELL_FIELDS])

    def locate_id(self, lon: float, lat: float, metres: float) -> LocatedId:
        lon0, lat0 = self.origin
        x, y = (lon - lon0) * self._kx, (lat - lat0) * M_PER_DEG  # as geo.to_metres
        point = shapely.Point(x, y)
        # A one-element array, not the scalar: STRtree.query then skips reshaping the input,
        # which costs as much as the search itself for one point.
        query = np.empty(1, dtype=object)
        query[0] = point
        hits = self.tree.query(query, predicate="intersects")[1].tolist()
        if not hits:
            return LocatedId(self.county_id, "outside")
        best = max(hits, key=self._entry_rank) if len(hits) > 1 else hits[0]
        if best >= self.n:
            best -= self.n
        if metres <= 0:
            return LocatedId(self.ids[best], "ok")
        if metres <= self.core_metres:
            if best in hits:  # in the cell's core: nothing else is that near
                return LocatedId(self.ids[best], "ok")
            near = self.neighbours[best]
        else:  # farther than the neighbours were found for: search the tree
            line = self.prefix_rows[best]
            near = [
                j
                for j in self.cell_tree.query(point, predicate="dwithin", distance=metres).tolist()
                if _parted(line, self.prefix_rows[j]) is not None
            ]
        return self._ambiguity(best, near, point, x, y, metres)

    def _ambiguity(self, best: int, near: list[int], point, x: float, y: float, metres: float):
        """Near the edge of the deepest cell: which cells off its line are within `metres`, and
        where does each one's path part from the point's? The deepest parting decides."""
        # Envelopes first (a lower bound of the distance), in plain Python: most neighbours
        # are farther, and a shapely call costs more than this whole loop.
        close, bounds, cells, limit = [], self.bounds, self.cell_list, metres * metres
        for j in near:
            x0, y0, x1, y1 = bounds[j]
            dx = x0 - x if x < x0 else (x - x1 if x > x1 else 0.0)
            dy = y0 - y if y < y0 else (y - y1 if y > y1 else 0.0)
            if dx * dx + dy * dy <= limit:
                d = cells[j].distance(point)
                if d <= metres:
                    close.append((d, j))
        ids = self.ids
        if not close:
            return LocatedId(ids[best], "ok")
        if len(close) == 1:
            return LocatedId(ids[best], "ambiguous", (ids[best], ids[close[0][1]]))
        line = self.prefix_rows[best]
        parted = []
        for d, j in close:
            k = _parted(line, self.prefix_rows[j])
            parted.append((k, self.prefix_rows[j][k], d, j))
        top = max(p[0] for p in parted)
        groups: dict[int, list] = {}  # rival sibling → [nearest distance, deepest cell in it]
        for k, rival, d, cell in parted:
            if k != top:
                continue
            group = groups.setdefault(rival, [d, cell])
            group[0] = min(group[0], d)
            if self._rank(cell) > self._rank(group[1]):
                group[1] = cell
        alternatives = [ids[cell] for _, cell in sorted(groups.values())]
        return LocatedId(ids[best], "ambiguous", (ids[best], *alternatives))


def _parted(line: tuple, other: tuple) -> int | None:
    """The depth at which two paths part (there they are siblings); None if one holds the other."""
    for k, (a, b) in enumerate(zip(line, other, strict=False)):
        if a != b:
            return k
    return None


INDEX_COLUMNS = ("pk", "level", "path", "parent_id", "geometry", "name", "code")
# The fields a located cell is loaded with, in the model's order as `from_db` wants them (the
# rest, like the boundary, load on first use).
CELL_FIELDS = tuple(
    f.attname
    for f in GridCell._meta.concrete_fields
    if f.attname in {"id", "level", "path", "parent_id", "name", "code"}
)

_build_lock = threading.Lock()
_index: GridIndex | None = None
# Tests call this to drop the index at once.
invalidate = changes.changed


def get_index() -> GridIndex:
    global _index
    index = _index
    if index is not None and index.generation == changes.generation():
        if time.monotonic() - index.checked_at < RECHECK_SECONDS:
            return index
        stamp = changes.stamp()
        if stamp == index.stamp:
            index.checked_at = time.monotonic()
            return index
    with _build_lock:
        # Another thread may have rebuilt while this one waited for the lock.
        generation, stamp = changes.generation(), changes.stamp()
        index = _index
        if index is None or index.generation != generation or index.stamp != stamp:
            rows = GridCell.objects.values_list(*INDEX_COLUMNS)
            index = GridIndex(
                list(rows),
                core_metres=settings.WANGGE_AMBIGUOUS_METRES,
                generation=generation,
                stamp=stamp,
            )
            _index = index
        return index


def locate_id(lon: float, lat: float, *, metres: float | None = None) -> LocatedId:
    metres = settings.WANGGE_AMBIGUOUS_METRES if metres is None else metres
    return get_index().locate_id(lon, lat, metres)


def locate(lon: float, lat: float, *, metres: float | None = None) -> Located:
    """`locate_id` with the cells as model instances, built from the index's memory (the
    boundary and timestamps are deferred): a fresh instance per call, no database read."""
    metres = settings.WANGGE_AMBIGUOUS_METRES if metres is None else metres
    index = get_index()
    found = index.locate_id(lon, lat, metres)
    if found.cell_id is None:
        return Located(None, found.flag, [])
    cell = index.cell(found.cell_id)
    return Located(cell, found.flag, [index.cell(pk) for pk in found.candidate_ids])
