"""考核指标: case metrics for a grid subtree and a period, in one aggregate query.

A case belongs to the subtree where it happened (`cell`, the located grid), whichever level ends
up handling it, and to the period in which it was reported. Everything is computed from stored
facts (timestamps, levels, events) at `now`; nothing here writes.
"""

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.db.models import (
    Avg,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)

from wangge.cases.deadlines import Colour, with_colour
from wangge.cases.models import Case, CaseEvent, CaseState, EventKind, Satisfaction
from wangge.grids.models import GridCell, GridLevel

# Colour keys in the answer; "none" is a case without a running clock (new, paused, done).
COLOUR_KEYS = {
    Colour.GREEN: "green",
    Colour.YELLOW: "yellow",
    Colour.RED: "red",
    Colour.NONE: "none",
}


@dataclass(frozen=True)
class CaseMetrics:
    """The numbers for one subtree and period. Rates are shares in [0, 1], None when nothing
    was there to count; durations are mean hours, None likewise."""

    total: int
    by_state: dict[str, int]
    by_colour: dict[str, int]
    dispatched: int
    accepted: int
    accepted_on_time: int
    accept_on_time_rate: float | None
    resolved: int
    resolved_on_time: int
    resolve_on_time_rate: float | None
    mean_hours_to_accept: float | None
    mean_hours_to_resolve: float | None
    rated: int
    by_satisfaction: dict[str, int]
    satisfaction_rate: float | None
    returned: int
    return_rate: float | None
    closed_at_grid: int
    grid_closure_rate: float | None
    escalated_cases: int
    escalations: int

    def as_dict(self) -> dict:
        return asdict(self)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _hours(span: timedelta | None) -> float | None:
    return round(span.total_seconds() / 3600, 2) if span is not None else None


def _span(later: str, earlier: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(later) - F(earlier), output_field=DurationField())


def case_metrics(*, cell: GridCell, start: datetime, end: datetime, now: datetime) -> CaseMetrics:
    """Metrics of cases that happened in `cell`'s subtree and were reported in [start, end)."""
    cases = Case.objects.filter(
        cell__path__startswith=cell.path, reported_at__gte=start, reported_at__lt=end
    )
    return metrics_of(cases, now=now)


def _sums() -> dict:
    """The aggregates behind every CaseMetrics, usable per group."""
    accepted = Q(accepted_at__isnull=False)
    resolved = Q(resolved_at__isnull=False)
    dispatched = Q(dispatched_at__isnull=False)
    sums = {
        "total": Count("pk"),
        "dispatched": Count("pk", filter=dispatched),
        "accepted": Count("pk", filter=accepted),
        "accepted_on_time": Count("pk", filter=accepted & Q(accepted_at__lte=F("accept_due_at"))),
        "resolved": Count("pk", filter=resolved),
        "resolved_on_time": Count("pk", filter=resolved & Q(resolved_at__lte=F("due_at"))),
        "to_accept": Avg(_span("accepted_at", "dispatched_at"), filter=accepted & dispatched),
        "to_resolve": Avg(_span("resolved_at", "reported_at"), filter=resolved),
        "rated": Count("pk", filter=~Q(satisfaction="")),
        "returned": Count("pk", filter=dispatched & Q(was_returned=True)),
        "closed_at_grid": Count("pk", filter=resolved & Q(resolved_level__gte=GridLevel.GRID)),
        "escalated_cases": Count("pk", filter=Q(escalation_count__gt=0)),
        "escalations": Sum("escalation_count"),
    }
    for state in CaseState.values:
        sums[f"state:{state}"] = Count("pk", filter=Q(state=state))
    for colour in COLOUR_KEYS:
        sums[f"colour:{colour}"] = Count("pk", filter=Q(colour=colour))
    for value in Satisfaction.values:
        sums[f"satisfaction:{value}"] = Count("pk", filter=Q(satisfaction=value))
    return sums


def _metrics(row: dict) -> CaseMetrics:
    by_satisfaction = {v: row[f"satisfaction:{v}"] for v in Satisfaction.values}
    pleased = by_satisfaction[Satisfaction.SATISFIED] + by_satisfaction[Satisfaction.BASICALLY]
    return CaseMetrics(
        total=row["total"],
        by_state={s: row[f"state:{s}"] for s in CaseState.values},
        by_colour={key: row[f"colour:{c}"] for c, key in COLOUR_KEYS.items()},
        dispatched=row["dispatched"],
        accepted=row["accepted"],
        accepted_on_time=row["accepted_on_time"],
        accept_on_time_rate=_share(row["accepted_on_time"], row["accepted"]),
        resolved=row["resolved"],
        resolved_on_time=row["resolved_on_time"],
        resolve_on_time_rate=_share(row["resolved_on_time"], row["resolved"]),
        mean_hours_to_accept=_hours(row["to_accept"]),
        mean_hours_to_resolve=_hours(row["to_resolve"]),
        rated=row["rated"],
        by_satisfaction=by_satisfaction,
        satisfaction_rate=_share(pleased, row["rated"]),
        returned=row["returned"],
        return_rate=_share(row["returned"], row["dispatched"]),
        closed_at_grid=row["closed_at_grid"],
        grid_closure_rate=_share(row["closed_at_grid"], row["resolved"]),
        escalated_cases=row["escalated_cases"],
        escalations=row["escalations"] or 0,
    )


def empty_metrics() -> CaseMetrics:
    return _metrics({k: None if k.startswith("to_") else 0 for k in _sums()})


def _annotated(cases: QuerySet[Case], now: datetime) -> QuerySet[Case]:
    return with_colour(cases, now=now).annotate(
        was_returned=Exists(
            CaseEvent.objects.filter(case=OuterRef("pk"), kind=EventKind.RETURN).order_by()
        )
    )


def metrics_of(cases: QuerySet[Case], *, now: datetime) -> CaseMetrics:
    """CaseMetrics of any set of cases, in one aggregate query."""
    return _metrics(_annotated(cases, now).aggregate(**_sums()))


def metrics_by(cases: QuerySet[Case], group, *, now: datetime) -> dict:
    """CaseMetrics of `cases` per value of `group` (a field name or an expression), in one
    grouped query. Groups without cases are absent."""
    grouped = _annotated(cases, now).annotate(group=F(group) if isinstance(group, str) else group)
    rows = grouped.order_by().values("group").annotate(**_sums())
    return {row["group"]: _metrics(row) for row in rows}
