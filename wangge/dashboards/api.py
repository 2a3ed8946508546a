"""Metrics (考核指标) for a grid subtree and a period: GET /api/v1/metrics; the misroute rate
of 智能分派 per category and unit: GET /api/v1/metrics/misroutes."""

from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema

from wangge.accounts.models import User
from wangge.accounts.permissions import Perm
from wangge.accounts.queries import grid_in_scope
from wangge.dashboards.metrics import case_metrics
from wangge.dispatch.queries import misroute_rates
from wangge.grids.models import GridLevel
from wangge.lib.errors import InvalidInput, NotFound

router = Router(tags=["metrics"])

DEFAULT_DAYS = 30  # the period when none is asked for: the last 30 days, today included
MAX_DAYS = 3 * 366


class GridOut(Schema):
    id: int
    code: str
    name: str
    level: int


class MetricsOut(Schema):
    grid: GridOut
    start: date
    end: date  # inclusive
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


def _user(request) -> User:
    return request.auth if isinstance(request.auth, User) else request.user


def _period(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    end = end or today
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise InvalidInput(fields={"start": str(_("The start must not be after the end."))})
    if (end - start).days >= MAX_DAYS:
        raise InvalidInput(fields={"start": str(_("The period may span at most three years."))})
    return start, end


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


@router.get("", response=MetricsOut)
def metrics(request, grid: str | None = None, start: date | None = None, end: date | None = None):
    """Metrics of cases that happened in the grid's subtree and were reported in the period."""
    user = _user(request)
    cell = grid_in_scope(user, Perm.VIEW_METRICS, grid)
    now = timezone.now()
    start, end = _period(start, end, timezone.localdate(now))
    numbers = case_metrics(
        cell=cell,
        start=_local_midnight(start),
        end=_local_midnight(end + timedelta(days=1)),
        now=now,
    )
    return {"grid": cell, "start": start, "end": end, **numbers.as_dict()}


class MisrouteRow(Schema):
    key: str | int | None
    name: str
    cases: int
    misrouted: int
    rate: float


class MisroutesOut(Schema):
    start: date
    end: date  # inclusive
    categories: list[MisrouteRow]
    units: list[MisrouteRow]


@router.get("/misroutes", response=MisroutesOut)
def misroutes(request, start: date | None = None, end: date | None = None):
    """Cases 智能分派 sent alone that came back (退单 or sent again), per predicted category and
    per unit. The classifier routes for the whole county, so this needs a county-wide scope."""
    user = _user(request)
    if grid_in_scope(user, Perm.VIEW_METRICS, None).level != GridLevel.COUNTY:
        raise NotFound(_("No grid is within your scope."))
    start, end = _period(start, end, timezone.localdate())
    rates = misroute_rates(_local_midnight(start), _local_midnight(end + timedelta(days=1)))
    return {"start": start, "end": end, **rates}
