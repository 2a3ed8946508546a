"""Grid geometry: reading and writing GeoJSON, checking a grid file before anything is stored.

Pure functions over shapely 2 geometries; no database access. Lengths and areas are measured in
a local plane in metres (see `to_metres`), so tolerances read as metres and shares of area
whatever the latitude.
"""

import math
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
import shapely
from django.utils.translation import gettext as _gettext
from django.utils.translation import gettext_lazy as _

from wangge.grids.models import GridLevel
from wangge.lib.errors import InvalidInput

# Metres per degree of latitude on a sphere of the Earth's mean radius (6,371,008.8 m).
M_PER_DEG = 6_371_008.8 * math.pi / 180

LEVEL_NAMES = {level.name.lower(): level.value for level in GridLevel}


def to_metres(geoms, lon0: float, lat0: float):
    """Project lon/lat geometries into a plane in metres around (lon0, lat0).

    Equirectangular: x = Δlon·cos(lat0), y = Δlat. The map is affine, so a straight edge stays
    straight and a cell inside its parent stays inside; lengths are true to 0.5% within ±0.4°
    of lat0 (about 40 km around 34°N), enough for a county or a city.
    """
    kx = math.cos(math.radians(lat0)) * M_PER_DEG
    return shapely.transform(
        geoms, lambda c: np.column_stack([(c[:, 0] - lon0) * kx, (c[:, 1] - lat0) * M_PER_DEG])
    )


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one feature of a grid file."""

    code: str
    name: str
    message: str

    def __str__(self) -> str:
        return _gettext("%(name)s (%(code)s): %(problem)s") % {
            "name": self.name or "?",
            "code": self.code or "?",
            "problem": self.message,
        }


class GridFileInvalid(InvalidInput):
    """A grid file with problems; nothing of it was stored."""

    code = "grid_file_invalid"
    default_message = _("The grid file has problems; nothing was imported.")

    def __init__(self, problems: list[Problem]):
        super().__init__()
        self.problems = problems


@dataclass
class Node:
    """A cell as it will be once the file is imported: from the file, or already stored."""

    code: str
    name: str
    level: int | None
    parent_code: str
    geometry: dict | None = None  # Polygon / MultiPolygon as stored
    point: tuple[float, float] | None = None  # a building's door
    from_file: bool = False
    shape: object = None  # shapely geometry in lon/lat, or None


def parse_level(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value in GridLevel.values else None
    if isinstance(value, str):
        text = value.strip().lower().replace("-", "_").replace(" ", "_")
        if text.isdigit():
            return parse_level(int(text))
        return LEVEL_NAMES.get(text)
    return None


def _position_ok(pos) -> bool:
    return (
        isinstance(pos, list | tuple)
        and len(pos) in (2, 3)
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in pos)
        and -180 <= pos[0] <= 180
        and -90 <= pos[1] <= 90
    )


def _ring_problems(polygon) -> list[str]:
    if not isinstance(polygon, list) or not polygon:
        return [_gettext("a polygon needs at least one ring")]
    out = []
    for n, ring in enumerate(polygon, start=1):
        if not isinstance(ring, list) or not all(_position_ok(p) for p in ring):
            out.append(
                _gettext("ring %(n)s has positions that are not longitude/latitude pairs")
                % {"n": n}
            )
        elif len(ring) < 4:
            out.append(_gettext("ring %(n)s has fewer than 4 positions") % {"n": n})
        elif list(ring[0]) != list(ring[-1]):
            out.append(
                _gettext("ring %(n)s is not closed (its last position must repeat the first)")
                % {"n": n}
            )
    return out


def read_geometry(geometry) -> tuple[dict | None, tuple | None, object, list[str]]:
    """(stored polygon, point, shapely shape, problems) from a GeoJSON geometry or None."""
    if geometry is None:
        return None, None, None, []
    if not isinstance(geometry, dict):
        return None, None, None, [_gettext("the geometry is not a GeoJSON object")]
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind == "Point":
        if not _position_ok(coords):
            return None, None, None, [_gettext("the point is not a longitude/latitude pair")]
        point = (float(coords[0]), float(coords[1]))
        return None, point, shapely.Point(point), []
    if kind == "Polygon":
        problems = _ring_problems(coords)
    elif kind == "MultiPolygon":
        if not isinstance(coords, list) or not coords:
            problems = [_gettext("a multipolygon needs at least one polygon")]
        else:
            problems = [p for polygon in coords for p in _ring_problems(polygon)]
    else:
        return (
            None,
            None,
            None,
            [
                _gettext(
                    "the geometry must be a Polygon, a MultiPolygon or a Point (a building's door)"
                )
            ],
        )
    if problems:
        return None, None, None, problems
    stored = {"type": kind, "coordinates": coords}
    shape = shapely.geometry.shape(stored)
    if not shape.is_valid:
        reason = shapely.is_valid_reason(shape)
        return (
            None,
            None,
            None,
            [_gettext("the polygon is not valid: %(reason)s") % {"reason": reason}],
        )
    if shape.area == 0:
        return None, None, None, [_gettext("the polygon has no area")]
    return stored, None, shape, []


def read_features(data) -> tuple[list[Node], list[Problem]]:
    """Nodes from a GeoJSON FeatureCollection, and every problem found in the features alone."""
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        return [], [Problem("", "", _gettext("the file is not a GeoJSON FeatureCollection"))]
    features = data.get("features")
    if not isinstance(features, list):
        return [], [Problem("", "", _gettext("the FeatureCollection has no list of features"))]
    nodes, problems = [], []
    for number, feature in enumerate(features, start=1):
        props = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(props, dict):
            name = _gettext("feature #%(n)s") % {"n": number}
            problems.append(Problem("", name, _gettext("the feature has no properties")))
            continue
        code = str(props.get("code") or "").strip()
        name = str(props.get("name") or "").strip()
        label = name or _gettext("feature #%(n)s") % {"n": number}
        found = []
        if not code:
            found.append(_gettext("the code is missing"))
        elif len(code) > 40 or "/" in code:
            found.append(_gettext("the code must be at most 40 characters without “/”"))
        # Other problems still let the tree around this feature be checked.
        identified = not found
        if not name:
            found.append(_gettext("the name is missing"))
        elif len(name) > 100:
            found.append(_gettext("the name is longer than 100 characters"))
        level = parse_level(props.get("level"))
        if level is None:
            found.append(
                _gettext("the level must be 1 to 6 or one of %(names)s")
                % {"names": ", ".join(LEVEL_NAMES)}
            )
        parent_code = str(props.get("parent_code") or "").strip()
        stored, point, shape, geo_problems = read_geometry(feature.get("geometry"))
        found += geo_problems
        problems += [Problem(code, label, msg) for msg in found]
        if identified:
            nodes.append(Node(code, label, level, parent_code, stored, point, True, shape))
    counts = Counter(n.code for n in nodes)
    for node in nodes:
        if counts[node.code] > 1:
            problems.append(
                Problem(
                    node.code,
                    node.name,
                    _gettext("the code appears %(n)s times in the file") % {"n": counts[node.code]},
                )
            )
    return nodes, problems


def check_tree(
    nodes: list[Node],
    existing: dict[str, Node],
    *,
    overlap_tolerance: float,
    containment_metres: float,
) -> list[Problem]:
    """Problems of the tree the file would make together with the stored cells: unknown parents,
    levels not below the parent's, polygons outside their parent, overlapping siblings."""
    problems: list[Problem] = []
    final = dict(existing)
    final.update({n.code: n for n in nodes})
    shapes = [n.shape for n in final.values() if n.shape is not None]
    if shapes:
        x0, y0, x1, y1 = shapely.total_bounds(shapes)
        origin = ((x0 + x1) / 2, (y0 + y1) / 2)
    else:
        origin = (0.0, 0.0)
    metric: dict[str, object] = {}

    def plane(node: Node):
        if node.code not in metric:
            metric[node.code] = to_metres(node.shape, *origin)
        return metric[node.code]

    children = defaultdict(list)
    for node in final.values():
        children[node.parent_code].append(node)

    def check_edge(child: Node, parent: Node):
        blame = child if child.from_file else parent
        other = parent if child.from_file else child

        def say(msg_child, msg_parent, **params):
            text = msg_child if child.from_file else msg_parent
            params.update(other=other.name, other_code=other.code)
            problems.append(Problem(blame.code, blame.name, text % params))

        if child.level is not None and parent.level is not None and child.level <= parent.level:
            say(
                _gettext(
                    "its level (%(level)s) must be below its parent %(other)s (%(other_code)s)"
                ),
                _gettext("its level must be above its existing child %(other)s (%(other_code)s)"),
                level=child.level,
            )
        if child.shape is None or parent.shape is None or parent.shape.geom_type == "Point":
            return
        inner, outer = plane(child), plane(parent)
        if outer.covers(inner) or outer.buffer(containment_metres, quad_segs=2).covers(inner):
            return
        if child.shape.geom_type == "Point":
            share = 100.0
        else:
            share = 100 * inner.difference(outer).area / inner.area
        say(
            _gettext(
                "it is not inside its parent %(other)s (%(other_code)s): "
                "%(share).1f%% of it lies outside"
            ),
            _gettext(
                "its existing child %(other)s (%(other_code)s) would not be inside it: "
                "%(share).1f%% of the child lies outside"
            ),
            share=share,
        )

    for node in final.values():
        if not node.parent_code:
            stored = existing.get(node.code)
            if node.from_file and stored is not None and stored.parent_code:
                problems.append(
                    Problem(node.code, node.name, _gettext("a stored cell cannot become a root"))
                )
            continue
        parent = final.get(node.parent_code)
        if parent is None:
            if node.from_file:
                problems.append(
                    Problem(
                        node.code,
                        node.name,
                        _gettext("its parent %(parent)s is neither in the file nor stored")
                        % {"parent": node.parent_code},
                    )
                )
            continue
        if node.from_file or parent.from_file:
            check_edge(node, parent)

    for siblings in children.values():
        if not any(s.from_file for s in siblings):
            continue
        areal = [s for s in siblings if s.shape is not None and s.shape.geom_type != "Point"]
        if len(areal) < 2:
            continue
        geoms = np.array([plane(s) for s in areal], dtype=object)
        pairs = shapely.STRtree(geoms).query(geoms, predicate="intersects")
        for i, j in zip(*pairs.tolist(), strict=True):
            a, b = areal[i], areal[j]
            if i >= j or not (a.from_file or b.from_file):
                continue
            overlap = geoms[i].intersection(geoms[j]).area
            share = overlap / min(geoms[i].area, geoms[j].area)
            if share > overlap_tolerance:
                blame, other = (a, b) if a.from_file else (b, a)
                problems.append(
                    Problem(
                        blame.code,
                        blame.name,
                        _gettext(
                            "it overlaps its sibling %(other)s (%(other_code)s) by %(share).1f%% "
                            "of the smaller one's area"
                        )
                        % {"other": other.name, "other_code": other.code, "share": 100 * share},
                    )
                )
    order = {n.code: i for i, n in enumerate(nodes)}
    return sorted(problems, key=lambda p: order.get(p.code, len(order)))


def feature_of(cell) -> dict:
    """One GeoJSON feature for a stored cell (the format `read_features` reads)."""
    if cell.geometry:
        geometry = {"type": cell.geometry["type"], "coordinates": cell.geometry["coordinates"]}
    elif cell.centroid_lon is not None and cell.centroid_lat is not None:
        geometry = {"type": "Point", "coordinates": [cell.centroid_lon, cell.centroid_lat]}
    else:
        geometry = None
    return {
        "type": "Feature",
        "properties": {
            "code": cell.code,
            "name": cell.name,
            "level": cell.level,
            "parent_code": cell.path.strip("/").split("/")[-2] if cell.parent_id else "",
        },
        "geometry": geometry,
    }
