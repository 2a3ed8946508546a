"""定位 by place name: find the township, community or landmark named in a message and place a
case that came without coordinates (a hotline call, an Open311 address string) in that cell.

The index (`PlaceIndex`) holds every grid cell's name and a few variants of it:
- without its suffix (街道, 镇, 乡, 社区, 村, 小区, …), for counties, townships, communities and
  landmarks: "凤城" for 凤城街道, "凤城西" for 凤城西社区;
- the part after the parent's name, alone and after each form of the parent's name: "西社区" and
  "凤城街道西社区" for 凤城西社区 under 凤城街道, "第1网格" for 凤城西社区第1网格.
A variant shared by several cells ("西社区", "1号楼") is resolved by another place the message
names: the candidate under it wins; otherwise their common ancestor is all we know.

Names from the national division codes (`cn-admin-nbs2023`: provinces, cities, counties,
townships; optional) are there only to recognise places outside the jurisdiction, so that
"徐州市丰县凤城街道" is not taken for our 凤城街道: a local name right after an outside place
(or a short city name: 郑州) is ignored, and so is a local name also used elsewhere when the
message names an outside county, city or province in full (郑州市, not 郑州: "西安" may be the
start of 西安置小区).

A text is scanned left to right for the longest known name at each position (names are short
and few, so a dictionary probe per length is enough; no tokenizer needed). The index is rebuilt
when the grid changes: the signals bump a generation, and a cheap stamp of the table (count,
last change) catches changes from other processes and rollbacks.
"""

import csv
import threading
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from wangge.accounts.actions import system_user
from wangge.accounts.models import User
from wangge.cases.actions import relocate_case
from wangge.cases.models import Case, CaseState, LocationFlag
from wangge.grids import changes
from wangge.grids.models import GridCell, GridLevel
from wangge.lib.errors import CaseChangedMeanwhile

PLACES_ACTOR = "places"
HOW = "place-name"
SHIPPED = Path(settings.BASE_DIR) / "lib" / "data" / "suixian.csv"
# Where the national division codes are looked for unless WANGGE_ADMIN_DIVISIONS_DIR says.
DEFAULT_DIVISIONS = Path(settings.BASE_DIR).parent.parent / "shared" / "data" / "cn-admin-nbs2023"

SUFFIXES = ("街道办事处", "办事处", "居委会", "村委会", "街道", "社区", "小区", "镇", "乡", "村")
AREA_SUFFIXES = ("特别行政区", "自治区", "自治州", "地区", "省", "市", "盟")
# Cities and counties with these names are placeholders, not places.
NOT_NAMES = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}
GENERIC_AREAS = {"城区", "郊区", "矿区", "新区"}
# Levels whose names carry a suffix worth dropping (grids are named by number: "…第1网格").
STRIP_LEVELS = {GridLevel.COUNTY, GridLevel.TOWNSHIP, GridLevel.COMMUNITY, GridLevel.MICRO_GRID}
CONFIDENCE_FULL, CONFIDENCE_VARIANT, CONFIDENCE_ANCESTOR = 1.0, 0.8, 0.5
SPACES = str.maketrans("", "", " \t\u3000\xa0")


@dataclass
class PlaceMatch:
    cell: GridCell
    matched: str  # the words in the text that name the cell
    confidence: float


@dataclass
class _Name:
    cells: dict[int, bool] = field(default_factory=dict)  # cell id → by its full name
    outside: bool = False  # also the name of a place outside the jurisdiction
    region: bool = False  # …and that place is a county, city or province
    neutral: bool = False  # a place in the jurisdiction with no cell (yet): consumes the words


@dataclass
class _Hit:
    start: int
    end: int
    text: str
    name: _Name


def _strip(name: str, suffixes=SUFFIXES) -> str:
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _useful(variant: str) -> bool:
    """At least two characters, and not only digits or letters ("12" names nothing)."""
    return len(variant) >= 2 and not variant.isascii()


def _read(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def divisions_dir() -> Path:
    return Path(settings.WANGGE_ADMIN_DIVISIONS_DIR or DEFAULT_DIVISIONS)


@dataclass
class Divisions:
    """Names from the national division codes, as seen from our counties."""

    streets: set[str] = field(default_factory=set)  # townships elsewhere; short city names
    regions: set[str] = field(default_factory=set)  # counties, cities, provinces elsewhere
    neutral: set[str] = field(default_factory=set)  # in or above our counties


def division_names(directory: Path | None, county_codes: set[str]) -> Divisions:
    """Places outside the counties `county_codes`, and places inside them or above them (their
    city, their province). Files that are absent are skipped."""
    found = Divisions()
    rows = _read(SHIPPED)
    if directory is not None:
        rows += _read(directory / "streets.csv")
    for row in rows:
        if row["areaCode"] in county_codes:
            found.neutral.add(row["name"])
        elif len(row["name"]) >= 3:  # "城区", "林场": words, not places
            found.streets.add(row["name"])
    if directory is None:
        return found
    for row in _read(directory / "areas.csv"):
        if row["name"] not in NOT_NAMES | GENERIC_AREAS:
            (found.neutral if row["code"] in county_codes else found.regions).add(row["name"])
    ours = {c[:4] for c in county_codes} | {c[:2] for c in county_codes}
    for row in _read(directory / "cities.csv") + _read(directory / "provinces.csv"):
        if row["name"] in NOT_NAMES:
            continue
        short = _strip(row["name"], AREA_SUFFIXES)
        if row["code"] in ours:
            found.neutral.update(n for n in (row["name"], short) if _useful(n))
        else:
            # "郑州" only after a place of ours is clearly elsewhere; "西安" may be 西安置小区
            found.regions.add(row["name"])
            if _useful(short) and short != row["name"]:
                found.streets.add(short)
    return found


class PlaceIndex:
    """Every cell's name and variants, plus outside names; `find(text)` answers from memory."""

    def __init__(
        self, rows, *, divisions: Divisions | None = None, stamp=None, generation=0, source=""
    ):
        """rows: (pk, level, name, path, parent_id) for every cell."""
        self.stamp, self.generation, self.source = stamp, generation, source
        self.paths: dict[int, str] = {}
        self.levels: dict[int, int] = {}
        self.by_path: dict[str, int] = {}
        self.names: dict[str, _Name] = {}
        rows = list(rows)
        by_id = {r[0]: r for r in rows}
        for pk, level, _name, path, _parent in rows:
            self.paths[pk], self.levels[pk] = path, level
            self.by_path[path] = pk
        for pk, level, name, _path, parent_id in rows:
            if level == GridLevel.BUILDING and not _useful(_strip(name)):
                continue
            self._add(name, pk, full=True)
            forms = {name}
            if level in STRIP_LEVELS and _useful(_strip(name)):
                forms.add(_strip(name))
                self._add(_strip(name), pk, full=False)
            parent = by_id.get(parent_id)
            if parent is None:
                continue
            parent_forms = {parent[2], _strip(parent[2])}
            for prefix in sorted(parent_forms, key=len, reverse=True):
                rest = name[len(prefix) :]
                if name.startswith(prefix) and _useful(rest):
                    self._add(rest, pk, full=False)
                    for form in parent_forms:
                        self._add(form + rest, pk, full=False)
                    break
        divisions = divisions or Divisions()
        counties = {name for _pk, level, name, _path, _parent in rows if level == GridLevel.COUNTY}
        for text in divisions.neutral:
            self.names.setdefault(text, _Name()).neutral = True
        for text in divisions.streets | divisions.regions - counties:
            self.names.setdefault(text, _Name()).outside = True
        for text in divisions.regions - counties:
            self.names[text].region = True
        self.longest = max((len(t) for t in self.names), default=0)

    def _add(self, text: str, pk: int, *, full: bool) -> None:
        cells = self.names.setdefault(text, _Name()).cells
        cells[pk] = cells.get(pk, False) or full

    def scan(self, text: str) -> list[_Hit]:
        """The longest known name at each position, left to right, without overlaps."""
        text = text.translate(SPACES)
        hits, i, n = [], 0, len(text)
        while i < n:
            for length in range(min(self.longest, n - i), 1, -1):
                name = self.names.get(text[i : i + length])
                if name is not None:
                    hits.append(_Hit(i, i + length, text[i : i + length], name))
                    i += length
                    break
            else:
                i += 1
        return hits

    def find(self, text: str) -> tuple[int, str, float] | None:
        """(cell id, matched words, confidence) of the deepest cell the text names, or None."""
        hits = self.scan(text)
        elsewhere = any(h.name.region and not (h.name.cells or h.name.neutral) for h in hits)
        local, previous = [], None
        for hit in hits:
            after_outside = (
                previous is not None
                and previous.end == hit.start
                and previous.name.outside
                and not (previous.name.cells or previous.name.neutral)
            )
            if hit.name.cells and not after_outside and not (hit.name.outside and elsewhere):
                local.append(hit)
            previous = hit
        if not local:
            return None
        resolved = []  # (cell id, hit, exact)
        for k, hit in enumerate(local):
            candidates = list(hit.name.cells)
            if len(candidates) > 1:
                others = [
                    self.paths[c] for j, o in enumerate(local) if j != k for c in o.name.cells
                ]
                under = [
                    c
                    for c in candidates
                    if any(self.paths[c].startswith(p) and self.paths[c] != p for p in others)
                ]
                candidates = under or candidates
            if len(candidates) == 1:
                resolved.append((candidates[0], hit, True))
            else:
                resolved.append((self._common([self.paths[c] for c in candidates]), hit, False))
        resolved = [r for r in resolved if r[0] is not None]
        leaves = [
            r
            for r in resolved
            if not any(
                self.paths[o[0]].startswith(self.paths[r[0]]) and o[0] != r[0] for o in resolved
            )
        ]
        cell = self._common([self.paths[r[0]] for r in leaves])
        if cell is None or self.levels[cell] == GridLevel.COUNTY:
            return None  # only the county, or places in different townships: nothing learnt
        named = [r for r in leaves if r[0] == cell and r[2]]
        if named:
            hit = named[0][1]
            full = hit.name.cells[cell]
            return cell, hit.text, CONFIDENCE_FULL if full else CONFIDENCE_VARIANT
        return cell, "、".join(dict.fromkeys(r[1].text for r in leaves)), CONFIDENCE_ANCESTOR

    def _common(self, paths: list[str]) -> int | None:
        """The deepest cell above (or equal to) every path given."""
        if not paths:
            return None
        parts = [p.strip("/").split("/") for p in paths]
        shared = []
        for column in zip(*parts, strict=False):
            if any(c != column[0] for c in column):
                break
            shared.append(column[0])
        while shared:
            pk = self.by_path.get("/" + "/".join(shared) + "/")
            if pk is not None:
                return pk
            shared.pop()
        return None


_build_lock = threading.Lock()
_index: PlaceIndex | None = None
_divisions: dict[tuple, Divisions] = {}
invalidate = changes.changed


def _division_names(county_codes: set[str]) -> Divisions:
    """The division files are large and never change while running: read once per county set."""
    directory = divisions_dir()
    key = (str(directory), frozenset(county_codes))
    if key not in _divisions:
        _divisions[key] = division_names(directory if directory.is_dir() else None, county_codes)
    return _divisions[key]


def get_index() -> PlaceIndex:
    """The current index; one aggregate query checks that the grid has not changed."""
    global _index
    stamp, index, source = changes.stamp(), _index, str(divisions_dir())
    if index is not None and (index.generation, index.stamp, index.source) == (
        changes.generation(),
        stamp,
        source,
    ):
        return index
    with _build_lock:
        generation, stamp = changes.generation(), changes.stamp()
        index = _index
        if index is None or (index.generation, index.stamp, index.source) != (
            generation,
            stamp,
            source,
        ):
            rows = list(GridCell.objects.values_list("pk", "level", "name", "path", "parent_id"))
            codes = set(
                GridCell.objects.filter(level=GridLevel.COUNTY).values_list("code", flat=True)
            )
            index = PlaceIndex(
                rows,
                divisions=_division_names(codes),
                stamp=stamp,
                generation=generation,
                source=source,
            )
            _index = index
        return index


def extract_place(text: str) -> PlaceMatch | None:
    """The deepest grid cell the text names without doubt, or None."""
    for _attempt in range(2):
        found = get_index().find(text)
        if found is None:
            return None
        cell = GridCell.objects.filter(pk=found[0]).first()
        if cell is not None:
            return PlaceMatch(cell=cell, matched=found[1], confidence=found[2])
        invalidate()  # the index saw a cell that is gone (a rolled-back transaction)
    return None


def place_case(case: Case, *, actor: User | None = None) -> Case:
    """定位: a new case that came without coordinates goes to the cell its title, description or
    address names. A case naming no place of ours (or one elsewhere) stays where it is."""
    if case.state != CaseState.NEW or case.location_flag != LocationFlag.NONE:
        return case
    found = extract_place("\n".join([case.title, case.description, case.address]))
    if found is None or found.cell.pk == case.cell_id:
        return case
    try:
        return relocate_case(
            case, cell=found.cell, how=HOW, actor=actor or system_user(PLACES_ACTOR)
        )
    except CaseChangedMeanwhile:
        case.refresh_from_db()  # someone acted on it first; their change stands
        return case
