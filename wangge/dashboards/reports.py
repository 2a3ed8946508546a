"""Generated reports (基层减负: generated, not typed): 周调度 for an ISO week and 月评估 for a
month, over a grid subtree and optionally one unit.

The figures come from the dashboard's query layer (`metrics.case_metrics`, one aggregate); the
breakdowns per child grid and per unit are the same aggregate grouped (`metrics_by`), so a
row of a breakdown and the summary of that grid or unit never disagree. States, colours and
overdue cases are as at `now`, the moment the report is generated; nothing here writes.
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Case as SqlCase
from django.db.models import (
    Count,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wangge.accounts.models import Unit, User
from wangge.accounts.permissions import Perm, active_assignments
from wangge.cases.deadlines import Colour
from wangge.cases.models import (
    CLOCK_STATES,
    OPEN_STATES,
    Case,
    CaseState,
)
from wangge.dashboards.metrics import (
    CaseMetrics,
    case_metrics,
    empty_metrics,
    metrics_by,
    metrics_of,
)
from wangge.grids.models import GridCell, GridLevel
from wangge.lib.errors import InvalidInput

WEEKLY, MONTHLY = "weekly", "monthly"
TOP_CATEGORIES = 10
TOP_OVERDUE = 10
MAX_WINDOW_DAYS = 3 * 366  # the misroute page's longest window, as the metrics API

# --- periods ------------------------------------------------------------------------------------


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


@dataclass(frozen=True)
class Period:
    """A reporting period: an ISO week (周调度) or a calendar month (月评估), whole local days."""

    kind: str
    first: date
    last: date  # inclusive

    @property
    def start(self) -> datetime:
        return local_midnight(self.first)

    @property
    def end(self) -> datetime:
        return local_midnight(self.last + timedelta(days=1))

    @property
    def value(self) -> str:
        """As an <input type=week|month> gives it: 2026-W47, 2026-11."""
        if self.kind == WEEKLY:
            year, week, _day = self.first.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.first.year}-{self.first.month:02d}"

    @property
    def title(self) -> str:
        return str(WEEKLY_TITLE if self.kind == WEEKLY else MONTHLY_TITLE)

    def previous(self) -> "Period":
        if self.kind == WEEKLY:
            return week_of(self.first - timedelta(days=7))
        return month_of(self.first - timedelta(days=1))


WEEKLY_TITLE = _("Weekly dispatch review")  # 周调度
MONTHLY_TITLE = _("Monthly assessment")  # 月评估


def week_of(day: date) -> Period:
    monday = day - timedelta(days=day.weekday())
    return Period(WEEKLY, monday, monday + timedelta(days=6))


def month_of(day: date) -> Period:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Period(MONTHLY, first, following - timedelta(days=1))


def parse_week(value: str | None, *, today: date) -> Period:
    """'2026-W47' (ISO week); empty means this week."""
    if not value:
        return week_of(today)
    match = re.fullmatch(r"(\d{4})-W(\d{1,2})", value.strip())
    try:
        if match is None:
            raise ValueError(value)
        return week_of(date.fromisocalendar(int(match[1]), int(match[2]), 1))
    except ValueError:
        raise InvalidInput(fields={"week": _("Give a week as 2026-W47.")}) from None


def parse_month(value: str | None, *, today: date) -> Period:
    """'2026-11'; empty means this month."""
    if not value:
        return month_of(today)
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", value.strip())
    try:
        if match is None:
            raise ValueError(value)
        return month_of(date(int(match[1]), int(match[2]), 1))
    except ValueError:
        raise InvalidInput(fields={"month": _("Give a month as 2026-11.")}) from None


def parse_window(start: str | None, end: str | None, *, today: date) -> tuple[date, date]:
    """A window of whole days for the misroute page: the last 30 days unless told."""
    try:
        last = date.fromisoformat(end) if end else today
    except ValueError:
        raise InvalidInput(fields={"end": _("Give a date as 2026-11-30.")}) from None
    try:
        first = date.fromisoformat(start) if start else last - timedelta(days=29)
    except ValueError:
        raise InvalidInput(fields={"start": _("Give a date as 2026-11-30.")}) from None
    if first > last:
        raise InvalidInput(fields={"start": _("The start must not be after the end.")})
    if (last - first).days >= MAX_WINDOW_DAYS:
        raise InvalidInput(fields={"start": _("The period may span at most three years.")})
    return first, last


# --- what a user may choose ---------------------------------------------------------------------


def cells_to_choose(user: User) -> list[GridCell]:
    """The cells of the user's metric scopes, down to grid level, in tree order."""
    scopes = [a.cell for a in active_assignments(user, Perm.VIEW_METRICS) if a.cell is not None]
    if not scopes:
        return []
    within = Q()
    for scope in scopes:
        within |= Q(path__startswith=scope.path)
    return list(
        GridCell.objects.filter(within, level__lte=GridLevel.GRID)
        .defer("geometry")
        .order_by("path")
    )


def units_to_choose() -> list[Unit]:
    return list(Unit.objects.filter(is_active=True).order_by("kind", "code"))


def unit_for_report(ref: str | None) -> Unit | None:
    """The unit asked for by id (none when empty); an unknown one is a mistake in the form."""
    if not ref:
        return None
    unit = Unit.objects.filter(pk=int(ref)).first() if ref.isdigit() else None
    if unit is None:
        raise InvalidInput(fields={"unit": _("Unknown unit.")})
    return unit


# --- the aggregate, grouped ---------------------------------------------------------------------


def _cases(cell: GridCell, unit: Unit | None) -> QuerySet[Case]:
    cases = Case.objects.filter(cell__path__startswith=cell.path)
    return cases.filter(unit=unit) if unit is not None else cases


# --- the report ---------------------------------------------------------------------------------

NO_UNIT = _("No unit (not dispatched yet, or with a grid worker)")
NO_CHILD = _("Located at this level")
UNCATEGORISED = _("Uncategorised")


@dataclass(frozen=True)
class Line:
    """One row of a breakdown: a child grid or a unit and its metrics."""

    key: int | None
    name: str
    metrics: CaseMetrics
    code: str = ""  # a child grid's code, to open its own report

    @property
    def open(self) -> int:
        return sum(self.metrics.by_state[s] for s in (*OPEN_STATES, CaseState.PAUSED))

    @property
    def overdue(self) -> int:
        return self.metrics.by_colour["red"]


@dataclass(frozen=True)
class CategoryCount:
    code: str
    name: str
    cases: int


@dataclass(frozen=True)
class OverdueCase:
    """An open case past its deadline; title, unit, grid: no personal data."""

    id: int
    title: str
    unit: str
    grid: str
    days_overdue: float


@dataclass(frozen=True)
class Report:
    cell: GridCell
    unit: Unit | None
    period: Period
    previous: Period
    now: datetime
    metrics: CaseMetrics
    previous_metrics: CaseMetrics
    resolved_in_period: int
    previous_resolved_in_period: int
    by_cell: list[Line] = field(default_factory=list)
    by_unit: list[Line] = field(default_factory=list)
    top_categories: list[CategoryCount] = field(default_factory=list)
    overdue: list[OverdueCase] = field(default_factory=list)


def _summary(cell, unit, period: Period, now: datetime) -> CaseMetrics:
    if unit is None:  # the dashboard's own query
        return case_metrics(cell=cell, start=period.start, end=period.end, now=now)
    reported = _cases(cell, unit).filter(reported_at__gte=period.start, reported_at__lt=period.end)
    return metrics_of(reported, now=now)


def _resolved_in(cell, unit, period: Period) -> int:
    """Cases resolved in the period, whenever they were reported."""
    return (
        _cases(cell, unit).filter(resolved_at__gte=period.start, resolved_at__lt=period.end).count()
    )


def _by_cell(reported: QuerySet[Case], cell: GridCell, now: datetime) -> list[Line]:
    children = list(GridCell.objects.filter(parent=cell).defer("geometry").order_by("path"))
    if not children:
        return []
    child_of = SqlCase(
        *(When(cell__path__startswith=c.path, then=Value(c.pk)) for c in children),
        default=Value(None),
        output_field=IntegerField(),
    )
    found = metrics_by(reported, child_of, now=now)
    lines = [Line(c.pk, c.name, found.get(c.pk) or empty_metrics(), c.code) for c in children]
    if None in found:  # located at this cell itself, in no child
        lines.append(Line(None, str(NO_CHILD), found[None]))
    return lines


def _by_unit(reported: QuerySet[Case], now: datetime) -> list[Line]:
    found = metrics_by(reported, "unit_id", now=now)
    names = dict(Unit.objects.filter(pk__in=[k for k in found if k]).values_list("pk", "name"))
    lines = [Line(k, names[k] if k else str(NO_UNIT), m) for k, m in found.items()]
    return sorted(lines, key=lambda line: (-line.metrics.total, line.key is None, line.name))


def _top_categories(reported: QuerySet[Case]) -> list[CategoryCount]:
    rows = (
        reported.order_by()
        .values("category__code", "category__name")
        .annotate(cases=Count("pk"))
        .order_by("-cases", "category__code")[:TOP_CATEGORIES]
    )
    return [
        CategoryCount(
            r["category__code"] or "", r["category__name"] or str(UNCATEGORISED), r["cases"]
        )
        for r in rows
    ]


def _overdue(cell, unit, now: datetime) -> list[OverdueCase]:
    """The open cases longest past their deadline now, whenever they were reported."""
    rows = (
        _cases(cell, unit)
        .filter(state__in=CLOCK_STATES, due_at__lt=now)
        .order_by("due_at", "pk")
        .values("pk", "title", "unit__name", "cell__name", "due_at")[:TOP_OVERDUE]
    )
    return [
        OverdueCase(
            id=r["pk"],
            title=r["title"],
            unit=r["unit__name"] or "",
            grid=r["cell__name"],
            days_overdue=round((now - r["due_at"]).total_seconds() / 86400, 1),
        )
        for r in rows
    ]


def build_report(
    *, cell: GridCell, period: Period, unit: Unit | None = None, now: datetime
) -> Report:
    """The report of cases that happened in `cell`'s subtree (and, if given, lead `unit`)."""
    previous = period.previous()
    reported = _cases(cell, unit).filter(reported_at__gte=period.start, reported_at__lt=period.end)
    return Report(
        cell=cell,
        unit=unit,
        period=period,
        previous=previous,
        now=now,
        metrics=_summary(cell, unit, period, now),
        previous_metrics=_summary(cell, unit, previous, now),
        resolved_in_period=_resolved_in(cell, unit, period),
        previous_resolved_in_period=_resolved_in(cell, unit, previous),
        by_cell=_by_cell(reported, cell, now),
        by_unit=_by_unit(reported, now),
        top_categories=_top_categories(reported),
        overdue=_overdue(cell, unit, now),
    )


# --- figures, shared by the page and the workbook -----------------------------------------------

COUNT, RATE, HOURS = "count", "rate", "hours"

# (key, label, kind): the summary, in reading order. `resolved_in_period` is the report's own.
SUMMARY = [
    ("total", _("Cases received"), COUNT),
    ("resolved_in_period", _("Resolved in the period (whenever received)"), COUNT),
    ("dispatched", _("Dispatched cases"), COUNT),
    ("accept_on_time_rate", _("Accepted on time"), RATE),
    ("resolved", _("Resolved (of the cases received)"), COUNT),
    ("resolve_on_time_rate", _("Resolved on time (on-time rate)"), RATE),
    ("mean_hours_to_accept", _("Mean hours to accept"), HOURS),
    ("mean_hours_to_resolve", _("Mean hours to resolve"), HOURS),
    ("rated", _("Rated by the reporter"), COUNT),
    ("satisfaction_rate", _("Satisfaction rate"), RATE),
    ("returned", _("Returned by a unit"), COUNT),
    ("return_rate", _("Return rate"), RATE),
    ("closed_at_grid", _("Resolved at grid level"), COUNT),
    ("grid_closure_rate", _("Grid-level closure rate"), RATE),
    ("escalated_cases", _("Escalated cases"), COUNT),
]

# (key, label, kind) of each breakdown row; `name` is the grid or unit.
COLUMNS = [
    ("total", _("Received"), COUNT),
    ("open", _("Open"), COUNT),
    ("overdue", _("Overdue now"), COUNT),
    ("resolved", _("Resolved"), COUNT),
    ("resolve_on_time_rate", _("On-time rate"), RATE),
    ("mean_hours_to_resolve", _("Mean hours to resolve"), HOURS),
    ("satisfaction_rate", _("Satisfaction rate"), RATE),
    ("return_rate", _("Return rate"), RATE),
    ("grid_closure_rate", _("Grid-level closure rate"), RATE),
]

COLOUR_LABELS = {
    "green": Colour.LABELS[Colour.GREEN],
    "yellow": Colour.LABELS[Colour.YELLOW],
    "red": Colour.LABELS[Colour.RED],
    "none": _("No running clock"),
}


def show(value, kind: str) -> str:
    """A figure as printed: counts as they are, rates in per cent, hours to one decimal."""
    if value is None:
        return "—"
    if kind == RATE:
        return f"{value * 100:.1f}%"
    if kind == HOURS:
        return f"{value:.1f}"
    return str(value)


def show_change(now, before, kind: str) -> str:
    if now is None or before is None:
        return "—"
    if now == before:
        return "0"
    if kind == RATE:
        return _("%(points)s pp") % {"points": f"{(now - before) * 100:+.1f}"}
    if kind == HOURS:
        return f"{now - before:+.1f}"
    return f"{now - before:+d}"


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    kind: str
    value: float | int | None
    previous: float | int | None

    @property
    def shown(self) -> str:
        return show(self.value, self.kind)

    @property
    def shown_previous(self) -> str:
        return show(self.previous, self.kind)

    @property
    def change(self) -> str:
        return show_change(self.value, self.previous, self.kind)


def figures(report: Report) -> list[Figure]:
    now = {**report.metrics.as_dict(), "resolved_in_period": report.resolved_in_period}
    before = {
        **report.previous_metrics.as_dict(),
        "resolved_in_period": report.previous_resolved_in_period,
    }
    return [Figure(k, str(label), kind, now[k], before[k]) for k, label, kind in SUMMARY]


def states(report: Report) -> list[tuple[str, int]]:
    return [(str(CaseState(s).label), n) for s, n in report.metrics.by_state.items()]


def colours(report: Report) -> list[tuple[str, str, int]]:
    return [(k, str(COLOUR_LABELS[k]), n) for k, n in report.metrics.by_colour.items()]


def cell_value(line: Line, key: str):
    return getattr(line, key) if key in ("open", "overdue") else getattr(line.metrics, key)


def row_values(line: Line) -> list[tuple[object, str]]:
    """(raw value, printed value) for each of COLUMNS."""
    out = []
    for key, _label, kind in COLUMNS:
        value = cell_value(line, key)
        out.append((value, show(value, kind)))
    return out
