"""考核指标: metrics of a grid subtree and period, built from cases moved through actions."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from wangge.cases.actions import (
    accept_case,
    close_case,
    dispatch_case,
    escalate_case,
    rate_case,
    resolve_case,
    return_case,
)
from wangge.cases.models import Outcome, Satisfaction
from wangge.dashboards.metrics import case_metrics

# Monday 3 March 2025, 09:00 in the county: an ordinary working day.
T = datetime(2025, 3, 3, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
H = timedelta(hours=1)
D = timedelta(days=1)
NOW = T + 3 * D
PERIOD = {"start": T - D, "end": T + D, "now": NOW}


def _loop(case, world, *, accept_at, resolve_at, due_at, rating=None):
    """Dispatch to the urban department an hour after the report, accept, resolve, rate."""
    case = dispatch_case(
        case, unit=world.unit("urban"), due_at=due_at, actor=world.dispatcher, now=T + H
    )
    case = accept_case(case, actor=world.urban_handler, now=accept_at)
    case = resolve_case(
        case, outcome=Outcome.SOLVED, note="已修复", actor=world.urban_handler, now=resolve_at
    )
    if rating:
        case = rate_case(case, satisfaction=rating, actor=world.dispatcher, now=resolve_at + H)
    return case


@pytest.fixture
def cases(world, report):
    """Eight cases in grid A1 in every stage, one in grid B1, one reported before the period.

    Accepting is due four working hours after dispatch (14:00 for a 10:00 dispatch)."""

    def new(title, cell=None, at=T):
        return report(title, cell=cell, category="0201", now=at)

    # A: accepted and resolved on time, satisfied, closed.
    a = _loop(
        new("A 路灯不亮"),
        world,
        accept_at=T + 2 * H,
        resolve_at=T + D,
        due_at=T + 2 * D,
        rating=Satisfaction.SATISFIED,
    )
    close_case(a, actor=world.dispatcher, now=T + D + 2 * H)
    # B: accepted late (next day) and resolved an hour late, basically satisfied.
    _loop(
        new("B 路灯闪烁"),
        world,
        accept_at=T + D,
        resolve_at=T + 2 * D + H,
        due_at=T + 2 * D,
        rating=Satisfaction.BASICALLY,
    )
    # C: returned once, re-dispatched, resolved, rated unsatisfied: reopened (重办).
    c = dispatch_case(
        new("C 井盖缺失"), unit=world.unit("water"), actor=world.dispatcher, now=T + H
    )
    c = return_case(c, reason="非本单位职责", actor=world.water_handler, now=T + 2 * H)
    c = dispatch_case(
        c, unit=world.unit("urban"), due_at=T + 2 * D, actor=world.dispatcher, now=T + 3 * H
    )
    c = accept_case(c, actor=world.urban_handler, now=T + 4 * H)
    c = resolve_case(c, outcome=Outcome.SOLVED, note="已补", actor=world.urban_handler, now=T + D)
    rate_case(c, satisfaction=Satisfaction.UNSATISFIED, actor=world.dispatcher, now=T + D + H)
    # D: the grid worker escalates it to the township; re-dispatched there and resolved on time.
    d = dispatch_case(
        new("D 占道"), assignee=world.grid_worker_a1, actor=world.dispatcher, now=T + H
    )
    d = accept_case(d, actor=world.grid_worker_a1, now=T + 2 * H)
    d = escalate_case(d, reason="需要执法", actor=world.grid_worker_a1, now=T + 3 * H)
    d = dispatch_case(
        d, unit=world.unit("urban"), due_at=T + 2 * D, actor=world.dispatcher, now=T + 4 * H
    )
    d = accept_case(d, actor=world.urban_handler, now=T + 5 * H)
    resolve_case(d, outcome=Outcome.SOLVED, note="已清理", actor=world.urban_handler, now=T + D)
    # E: nobody acted yet.
    new("E 新报")
    # F, Y, G: dispatched, not accepted; at NOW red, yellow (warn at 80 % of the span), green.
    for title, due in (("F 红", T + 2 * D), ("Y 黄", T + 3 * D + 2 * H), ("G 绿", T + 10 * D)):
        dispatch_case(
            new(title), unit=world.unit("urban"), due_at=due, actor=world.dispatcher, now=T + H
        )
    # Elsewhere: in the other township, and in A1 but reported before the period.
    new("B1 新报", cell=world.grid_b1)
    new("旧案", at=T - 10 * D)


def test_metrics_of_a_grid_count_every_stage_of_its_cases_in_the_period(world, cases):
    m = case_metrics(cell=world.grid_a1, **PERIOD)

    assert m.total == 8
    assert m.by_state == {
        "new": 1,
        "dispatched": 3,
        "accepted": 0,
        "in_progress": 0,
        "paused": 0,
        "returned": 0,
        "resolved": 1,
        "rated": 1,
        "reopened": 1,
        "closed": 1,
    }
    # The reopened case runs a fresh five-working-day clock, so it is green too.
    assert m.by_colour == {"green": 2, "yellow": 1, "red": 1, "none": 4}
    # A (1 h), B (23 h) and D (1 h after its re-dispatch); C lost its acceptance when reopened.
    assert (m.accepted, m.accepted_on_time, m.accept_on_time_rate) == (3, 2, 0.6667)
    assert m.mean_hours_to_accept == 8.33
    # A (24 h), B (49 h, an hour late), D (24 h); C is open again.
    assert (m.resolved, m.resolved_on_time, m.resolve_on_time_rate) == (3, 2, 0.6667)
    assert m.mean_hours_to_resolve == 32.33
    assert m.by_satisfaction == {"satisfied": 1, "basically": 1, "unsatisfied": 1}
    assert (m.rated, m.satisfaction_rate) == (3, 0.6667)
    assert (m.dispatched, m.returned, m.return_rate) == (7, 1, 0.1429)
    # 小事不出网格: A and B closed in the grid; D was resolved by the township.
    assert (m.closed_at_grid, m.grid_closure_rate) == (2, 0.6667)
    assert (m.escalated_cases, m.escalations) == (1, 1)


def test_a_township_or_county_subtree_takes_in_the_cases_of_its_grids(world, cases):
    town_a, town_b = world.townships
    assert case_metrics(cell=town_a, **PERIOD).total == 8
    assert case_metrics(cell=world.county, **PERIOD).total == 9
    other = case_metrics(cell=town_b, **PERIOD)
    assert (other.total, other.by_state["new"], other.dispatched) == (1, 1, 0)


def test_the_period_is_when_cases_were_reported(world, cases):
    before = case_metrics(cell=world.grid_a1, start=T - 20 * D, end=T - D, now=NOW)
    assert (before.total, before.by_state["new"]) == (1, 1)
    whole = case_metrics(cell=world.grid_a1, start=T - 20 * D, end=T + D, now=NOW)
    assert whole.total == 9


def test_an_empty_subtree_has_zero_counts_and_no_rates(world):
    m = case_metrics(cell=world.grid_b1, **PERIOD)
    assert (m.total, m.resolved, m.rated, m.dispatched, m.escalations) == (0, 0, 0, 0, 0)
    assert (
        m.accept_on_time_rate,
        m.resolve_on_time_rate,
        m.satisfaction_rate,
        m.return_rate,
        m.grid_closure_rate,
        m.mean_hours_to_accept,
        m.mean_hours_to_resolve,
    ) == (None, None, None, None, None, None, None)


def test_metrics_take_one_query_however_many_cases(world, cases, django_assert_num_queries):
    with django_assert_num_queries(1):
        case_metrics(cell=world.county, **PERIOD)
