"""The big screen's numbers (screen_data) for a node and period, from cases moved by actions."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from wangge.cases.actions import accept_case, dispatch_case, rate_case, resolve_case
from wangge.cases.models import Outcome, Satisfaction
from wangge.dashboards import screen_data
from wangge.dashboards.screen_data import Period

# Monday 3 March 2025, 09:00 in the county: an ordinary working day.
T = datetime(2025, 3, 3, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
H = timedelta(hours=1)
D = timedelta(days=1)
NOW = T + 3 * D
WEEK = Period.ending(date(2025, 3, 6), 7)  # 28 February to 6 March


def _done(case, world, *, resolve_at, rating):
    """Dispatched to the urban department due T + 2 days, accepted, resolved, rated."""
    case = dispatch_case(
        case, unit=world.unit("urban"), due_at=T + 2 * D, actor=world.dispatcher, now=T + H
    )
    case = accept_case(case, actor=world.urban_handler, now=T + 2 * H)
    case = resolve_case(
        case, outcome=Outcome.SOLVED, note="已修复", actor=world.urban_handler, now=resolve_at
    )
    return rate_case(case, satisfaction=rating, actor=world.dispatcher, now=resolve_at + H)


@pytest.fixture
def cases(world, report):
    """Township A, grid A1: resolved on time (T + 1 day), resolved late (T + 2 days + 1 hour),
    dispatched to the water company and red at NOW, one new. Township B, grid B1: one new
    case, uncategorised, on 1 March. Before the period: one still-open case in A1."""

    def new(title, category="0201", cell=None, at=T):
        return report(title, category=category, cell=cell, now=at)

    _done(new("路灯不亮"), world, resolve_at=T + D, rating=Satisfaction.SATISFIED)
    _done(new("路灯闪烁"), world, resolve_at=T + 2 * D + H, rating=Satisfaction.BASICALLY)
    dispatch_case(
        new("停水", category="0401"),
        unit=world.unit("water"),
        due_at=T + 2 * D,
        actor=world.dispatcher,
        now=T + H,
    )
    new("垃圾未清运", category="0202")
    new("噪音", category=None, cell=world.grid_b1, at=T - 2 * D)
    new("旧案", at=T - 30 * D)


def test_each_township_counts_its_backlog_red_cases_and_reports_in_one_query(
    world, cases, django_assert_num_queries
):
    town_a, town_b = world.townships
    with django_assert_num_queries(2):  # the children, then one grouped count
        areas = screen_data.area_counts(world.county, period=WEEK, now=NOW)

    assert [(a.cell, a.open, a.red, a.yellow, a.reported, a.drillable) for a in areas] == [
        (town_a, 3, 1, 0, 4, True),
        (town_b, 1, 0, 0, 1, True),
    ]


def test_before_the_deadline_nothing_is_red(world, cases):
    areas = screen_data.area_counts(world.county, period=WEEK, now=T + 2 * H)
    assert [(a.open, a.red) for a in areas] == [(3, 0), (1, 0)]


def test_a_grid_has_no_deeper_area_and_counts_itself(world, cases):
    areas = screen_data.area_counts(world.grid_a1, period=WEEK, now=NOW)
    assert [(a.cell, a.open, a.red, a.drillable) for a in areas] == [(world.grid_a1, 3, 1, False)]


def test_units_are_rated_on_time_and_satisfaction(world, cases):
    got = screen_data.unit_rates(world.county, period=WEEK)
    seen = [
        (r.name, r.cases, r.resolved, r.on_time_rate, r.rated, r.satisfaction_rate) for r in got
    ]
    assert seen == [
        (world.unit("urban").name, 2, 2, 0.5, 2, 1.0),
        (world.unit("water").name, 1, 0, None, 0, None),
    ]


def test_the_daily_series_has_every_day_of_the_period(world, cases):
    series = screen_data.daily_series(world.county, period=WEEK)
    assert series.dates == [date(2025, 2, 28) + i * D for i in range(7)]
    # 28 Feb, 1 Mar (B1), 2 Mar, 3 Mar (four in A1), 4 Mar (one resolved), 5 Mar (one), 6 Mar
    assert series.reported == [0, 1, 0, 4, 0, 0, 0]
    assert series.resolved == [0, 0, 0, 0, 1, 1, 0]


def test_top_categories_most_first_with_the_uncategorised_named(world, cases):
    rows = screen_data.top_categories(world.county, period=WEEK, uncategorised="未分类")
    assert [(r.name, r.cases) for r in rows] == [
        ("路灯损坏", 2),
        ("垃圾清运", 1),
        ("停水", 1),
        ("未分类", 1),
    ]


def test_the_whole_screen_agrees_with_the_metrics_and_finds_the_unplaced(world, report, cases):
    report("县城外", lon=100.0, lat=30.0, now=T)  # outside every grid: located at the county
    data = screen_data.screen(world.county, period=WEEK, now=NOW)
    assert (data.backlog.open, data.backlog.red, data.backlog.yellow) == (5, 1, 0)
    assert data.unplaced_open == 1
    assert (data.metrics.total, data.metrics.resolved, data.metrics.resolve_on_time_rate) == (
        6,
        2,
        0.5,
    )
    assert data.hotspots == []


def test_repeats_of_one_problem_show_as_a_hotspot(world, report):
    for n in range(3):
        report("幸福路小区门口垃圾堆积无人清运", reporter_phone=f"1380000000{n}", now=T + n * H)
    spots = screen_data.hotspots(world.county, period=WEEK)
    assert [(h["size"], h["reporters"], h["text"]) for h in spots] == [
        (3, 3, "幸福路小区门口垃圾堆积无人清运")
    ]
