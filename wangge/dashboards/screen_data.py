"""一屏观全域: what the big screen shows for one grid node and period, in a few grouped queries.

A case belongs to the subtree where it happened (`cell`, the located grid), as in `metrics`.
"Open", "red" and "yellow" are the backlog now, whenever a case was reported; everything else
counts the cases reported in the period (resolutions: those resolved in it). Per-area counts
group by a prefix of the located cell's materialised path, so one query answers every child of
the node however many there are. Nothing here writes.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.core.cache import cache
from django.db.models import Count, F, Max, Q
from django.db.models.functions import Substr, TruncDate
from django.utils import timezone

from wangge.cases.deadlines import Colour, with_colour
from wangge.cases.models import OPEN_STATES, Case, Satisfaction
from wangge.dashboards.metrics import CaseMetrics, case_metrics
from wangge.dispatch.hotspots import hotspots_for_cases
from wangge.grids.models import GridCell, GridLevel

PERIODS = (7, 30, 90)  # days the screen offers; 30 unless asked
DEFAULT_DAYS = 30
DEEPEST = GridLevel.GRID  # the screen drills county → township → community → grid
TOP_CATEGORIES = 8
TOP_UNITS = 12
TOP_HOTSPOTS = 5
HOTSPOT_SECONDS = 300  # clustering is costly: kept while the subtree's cases stay unchanged


@dataclass(frozen=True)
class Period:
    """The last `days` local days up to and including `last`: [start, end) in aware time."""

    days: int
    first: date
    last: date
    start: datetime
    end: datetime

    @classmethod
    def ending(cls, last: date, days: int) -> "Period":
        first = last - timedelta(days=days - 1)
        tz = timezone.get_current_timezone()
        return cls(
            days=days,
            first=first,
            last=last,
            start=datetime.combine(first, time.min, tzinfo=tz),
            end=datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz),
        )

    def dates(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range(self.days)]


@dataclass
class Area:
    """A child of the node on the map, with its backlog and the cases reported in the period."""

    cell: GridCell
    open: int = 0
    red: int = 0
    yellow: int = 0
    reported: int = 0
    drillable: bool = False  # a deeper screen exists for it


@dataclass(frozen=True)
class Backlog:
    open: int
    red: int
    yellow: int


@dataclass(frozen=True)
class UnitRates:
    unit_id: int
    name: str
    cases: int
    resolved: int
    resolved_on_time: int
    on_time_rate: float | None
    rated: int
    pleased: int
    satisfaction_rate: float | None


@dataclass(frozen=True)
class Series:
    dates: list[date]
    reported: list[int]
    resolved: list[int]


@dataclass(frozen=True)
class CategoryCount:
    category_id: int | None  # None: cases without a category
    name: str
    cases: int


@dataclass
class Screen:
    """Everything one refresh of the screen shows."""

    cell: GridCell
    period: Period
    now: datetime
    backlog: Backlog
    metrics: CaseMetrics
    areas: list[Area]
    unplaced_open: int  # open cases located on the node itself, in no child
    units: list[UnitRates]
    series: Series
    categories: list[CategoryCount]
    hotspots: list[dict] = field(default_factory=list)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _subtree(cell: GridCell):
    return Case.objects.filter(cell__path__startswith=cell.path)


def _in(period: Period, name: str = "reported_at") -> Q:
    return Q(**{f"{name}__gte": period.start, f"{name}__lt": period.end})


def _backlog_sums() -> dict:
    return {
        "open": Count("pk", filter=Q(state__in=OPEN_STATES)),
        "red": Count("pk", filter=Q(colour=Colour.RED)),
        "yellow": Count("pk", filter=Q(colour=Colour.YELLOW)),
    }


def backlog(cell: GridCell, *, now: datetime) -> Backlog:
    """Open cases located in the subtree now, and how many of them are red or yellow."""
    row = with_colour(_subtree(cell).filter(state__in=OPEN_STATES), now=now).aggregate(
        **_backlog_sums()
    )
    return Backlog(**row)


def map_cells(cell: GridCell) -> list[GridCell]:
    """The areas the map shows: the node's children down to grid level; a grid shows itself."""
    if cell.level >= DEEPEST:
        return [cell]
    return list(GridCell.objects.filter(parent=cell, level__lte=DEEPEST).order_by("code"))


def area_counts(cell: GridCell, *, period: Period, now: datetime) -> list[Area]:
    """Backlog and reported cases per area, grouped by the path prefix of each area: one query
    per distinct prefix length (codes of one level share a length, so usually one)."""
    cells = map_cells(cell)
    areas = {c.path: Area(cell=c, drillable=c != cell and c.level <= DEEPEST) for c in cells}
    cases = with_colour(
        _subtree(cell).filter(Q(state__in=OPEN_STATES) | _in(period)), now=now
    ).order_by()
    for length in sorted({len(path) for path in areas}):
        rows = (
            cases.annotate(branch=Substr("cell__path", 1, length))
            .filter(branch__in=[p for p in areas if len(p) == length])
            .values("branch")
            .annotate(**_backlog_sums(), reported=Count("pk", filter=_in(period)))
        )
        for row in rows:
            area = areas[row["branch"]]
            area.open, area.red, area.yellow = row["open"], row["red"], row["yellow"]
            area.reported = row["reported"]
    return list(areas.values())


def unit_rates(cell: GridCell, *, period: Period, limit: int = TOP_UNITS) -> list[UnitRates]:
    """按时办结率 and 满意率 per lead unit, of the subtree's cases reported in the period; the
    units with most cases first."""
    resolved = Q(resolved_at__isnull=False)
    rows = (
        _subtree(cell)
        .filter(_in(period), unit__isnull=False)
        .values("unit_id", "unit__name")
        .annotate(
            cases=Count("pk"),
            resolved=Count("pk", filter=resolved),
            resolved_on_time=Count("pk", filter=resolved & Q(resolved_at__lte=F("due_at"))),
            rated=Count("pk", filter=~Q(satisfaction="")),
            pleased=Count(
                "pk", filter=Q(satisfaction__in=[Satisfaction.SATISFIED, Satisfaction.BASICALLY])
            ),
        )
        .order_by("-cases", "unit__code")[:limit]
    )
    return [
        UnitRates(
            unit_id=r["unit_id"],
            name=r["unit__name"],
            cases=r["cases"],
            resolved=r["resolved"],
            resolved_on_time=r["resolved_on_time"],
            on_time_rate=_share(r["resolved_on_time"], r["resolved"]),
            rated=r["rated"],
            pleased=r["pleased"],
            satisfaction_rate=_share(r["pleased"], r["rated"]),
        )
        for r in rows
    ]


def _per_day(cell: GridCell, period: Period, name: str) -> dict[date, int]:
    tz = timezone.get_current_timezone()
    rows = (
        _subtree(cell)
        .filter(_in(period, name))
        .annotate(day=TruncDate(name, tzinfo=tz))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {r["day"]: r["n"] for r in rows}


def daily_series(cell: GridCell, *, period: Period) -> Series:
    """Cases reported and cases resolved on each local day of the period, zeros included."""
    reported = _per_day(cell, period, "reported_at")
    resolved = _per_day(cell, period, "resolved_at")
    days = period.dates()
    return Series(
        dates=days,
        reported=[reported.get(d, 0) for d in days],
        resolved=[resolved.get(d, 0) for d in days],
    )


def top_categories(
    cell: GridCell, *, period: Period, limit: int = TOP_CATEGORIES, uncategorised: str = ""
) -> list[CategoryCount]:
    """The categories with most cases reported in the period, most first."""
    rows = (
        _subtree(cell)
        .filter(_in(period))
        .values("category_id", "category__name")
        .annotate(n=Count("pk"))
        # codes, not names: the order of Chinese names depends on the database's collation
        .order_by("-n", F("category__code").asc(nulls_last=True))[:limit]
    )
    return [
        CategoryCount(r["category_id"], r["category__name"] or uncategorised, r["n"]) for r in rows
    ]


def hotspots(cell: GridCell, *, period: Period, limit: int = TOP_HOTSPOTS) -> list[dict]:
    """未诉先办 hotspots of the subtree, hottest first. Clustering is kept for a while under a
    key made of the subtree's case count and latest change, so a new or moved case shows at
    the next refresh but an unchanged county is not clustered twice a minute."""
    mark = _subtree(cell).aggregate(n=Count("pk"), last=Max("updated_at"), top=Max("pk"))
    key = "|".join(str(v) for v in (cell.path, period.start, period.end, *mark.values()))
    key = "screen:hotspots:" + hashlib.sha256(key.encode()).hexdigest()
    found = cache.get(key)
    if found is None:
        spots = hotspots_for_cases(cell=cell, start=period.start, end=period.end)
        found = [
            {
                "size": h.size,
                "reporters": h.distinct_reporters,
                "heat": h.heat,
                "growth": h.growth,
                "text": h.representative_texts[0] if h.representative_texts else "",
                "terms": h.top_terms,
            }
            for h in spots[:limit]
        ]
        cache.set(key, found, HOTSPOT_SECONDS)
    return found


def screen(cell: GridCell, *, period: Period, now: datetime, uncategorised: str = "") -> Screen:
    """One refresh of the screen for `cell` and `period`."""
    areas = area_counts(cell, period=period, now=now)
    totals = backlog(cell, now=now)
    in_areas = sum(a.open for a in areas)
    return Screen(
        cell=cell,
        period=period,
        now=now,
        backlog=totals,
        metrics=case_metrics(cell=cell, start=period.start, end=period.end, now=now),
        areas=areas,
        unplaced_open=max(totals.open - in_areas, 0),
        units=unit_rates(cell, period=period),
        series=daily_series(cell, period=period),
        categories=top_categories(cell, period=period, uncategorised=uncategorised),
        hotspots=hotspots(cell, period=period),
    )


def area_json(area: Area) -> dict:
    """What the map needs of an area on each refresh (no geometry: that is sent once)."""
    return {
        "code": area.cell.code,
        "name": area.cell.name,
        "open": area.open,
        "red": area.red,
        "yellow": area.yellow,
        "reported": area.reported,
        "drillable": area.drillable,
    }
