"""周调度 / 月评估: generated reports, from cases moved through actions in and around a week,
as a printable page and as an Excel workbook with the same numbers."""

import re
from datetime import datetime, timedelta
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation
from openpyxl import load_workbook

from wangge.cases.actions import (
    accept_case,
    dispatch_case,
    rate_case,
    resolve_case,
    return_case,
)
from wangge.cases.models import Outcome, Satisfaction
from wangge.dashboards.metrics import case_metrics
from wangge.dashboards.reports import (
    SUMMARY,
    WEEKLY_TITLE,
    build_report,
    parse_month,
    parse_week,
)
from wangge.lib.errors import InvalidInput

# Monday 3 March 2025, 09:00 in the county: the first day of ISO week 2025-W10.
T = datetime(2025, 3, 3, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
H = timedelta(hours=1)
D = timedelta(days=1)
WEEK = "2025-W10"


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def _row(html: str, attr: str, key: str) -> list[str]:
    """The cells of the row `<tr {attr}="{key}">` as the reader sees them."""
    match = re.search(rf'<tr {attr}="{re.escape(key)}">(.*?)</tr>', html, re.S)
    assert match, f"no row {attr}={key}"
    return [_text(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", match.group(1), re.S)]


@pytest.fixture
def week(world, report):
    """Week 2025-W10 in the county: four cases reported in it, one before, one after.

    a (A1) resolved on time and rated; b (A1) returned by the water company, sent to the
    urban department and still open (long overdue now); c (the other township) and f (A1,
    reported on Sunday at 23:59) not yet dispatched. d was reported the Friday before and
    resolved in the week; e arrives on the next Monday at midnight."""
    urban, water = world.unit("urban"), world.unit("water")
    a = report("A 路灯不亮", category="0201", now=T)
    a = dispatch_case(a, unit=urban, actor=world.dispatcher, now=T + H)
    a = accept_case(a, actor=world.urban_handler, now=T + 2 * H)
    a = resolve_case(a, outcome=Outcome.SOLVED, note="已修复", actor=world.urban_handler, now=T + D)
    rate_case(a, satisfaction=Satisfaction.SATISFIED, actor=world.dispatcher, now=T + D + H)

    b = report(
        "B 路灯闪烁", category="0201", reporter_name="李四", reporter_phone="13812345678", now=T + D
    )
    b = dispatch_case(b, unit=water, actor=world.dispatcher, now=T + D + H)
    b = return_case(b, reason="非本单位职责", actor=world.water_handler, now=T + D + 2 * H)
    b = dispatch_case(b, unit=urban, actor=world.dispatcher, now=T + D + 3 * H)

    c = report("C 停水", cell=world.grid_b1, category="0401", now=T + 2 * D)
    f = report("F 楼道杂物", category="0302", now=T + 6 * D + 14 * H + 59 * timedelta(minutes=1))

    d = report("D 井盖缺失", category="0201", now=T - 3 * D)
    d = dispatch_case(d, unit=urban, actor=world.dispatcher, now=T - 3 * D + H)
    d = accept_case(d, actor=world.urban_handler, now=T - 3 * D + 2 * H)
    resolve_case(
        d, outcome=Outcome.SOLVED, note="已补", actor=world.urban_handler, now=T + D + 2 * H
    )

    report("E 下周", category="0201", now=T + 7 * D - 9 * H)
    return {"a": a, "b": b, "c": c, "d": d, "f": f}


# --- the numbers --------------------------------------------------------------------------------


def test_a_week_is_monday_to_sunday_and_a_month_its_calendar_days():
    week = parse_week("2025-W10", today=T.date())
    assert (week.first.isoformat(), week.last.isoformat(), week.value) == (
        "2025-03-03",
        "2025-03-09",
        "2025-W10",
    )
    assert week.previous().value == "2025-W09"
    month = parse_month("2024-02", today=T.date())
    assert (month.first.isoformat(), month.last.isoformat()) == ("2024-02-01", "2024-02-29")
    assert month.previous().value == "2024-01"
    assert parse_month("2025-01", today=T.date()).previous().value == "2024-12"
    for bad in ("2025-W54", "2025-10", "W10"):
        with pytest.raises(InvalidInput):
            parse_week(bad, today=T.date())


def test_the_weekly_report_counts_the_cases_of_the_week_and_compares_with_the_one_before(
    world, week
):
    now = timezone.now()
    rep = build_report(cell=world.county, period=parse_week(WEEK, today=T.date()), now=now)

    m = rep.metrics
    assert (m.total, rep.resolved_in_period) == (4, 2)  # a, b, c, f; resolved: a and d
    assert m.by_state == {
        "new": 2,
        "dispatched": 1,
        "accepted": 0,
        "in_progress": 0,
        "paused": 0,
        "returned": 0,
        "resolved": 0,
        "rated": 1,
        "reopened": 0,
        "closed": 0,
    }
    assert m.by_colour == {"green": 0, "yellow": 0, "red": 1, "none": 3}
    assert (m.accepted, m.accept_on_time_rate, m.mean_hours_to_accept) == (1, 1.0, 1.0)
    assert (m.resolved, m.resolve_on_time_rate, m.mean_hours_to_resolve) == (1, 1.0, 24.0)
    assert (m.rated, m.satisfaction_rate) == (1, 1.0)
    assert (m.dispatched, m.returned, m.return_rate) == (2, 1, 0.5)
    assert (m.closed_at_grid, m.grid_closure_rate) == (1, 1.0)
    # The week before: d alone, resolved only in this week.
    assert (rep.previous.value, rep.previous_metrics.total, rep.previous_resolved_in_period) == (
        "2025-W09",
        1,
        0,
    )
    town_a, town_b = world.townships
    assert [(line.name, line.metrics.total, line.open, line.overdue) for line in rep.by_cell] == [
        (town_a.name, 3, 2, 1),
        (town_b.name, 1, 1, 0),
    ]
    assert [(line.name, line.metrics.total, line.metrics.returned) for line in rep.by_unit] == [
        ("县城市管理局", 2, 1),
        (str(rep.by_unit[1].name), 2, 0),
    ]
    assert rep.by_unit[1].key is None
    assert [(c.code, c.cases) for c in rep.top_categories] == [
        ("0201", 2),
        ("0302", 1),
        ("0401", 1),
    ]
    b = week["b"]
    assert [(o.title, o.unit, o.days_overdue) for o in rep.overdue] == [
        ("B 路灯闪烁", "县城市管理局", round((now - b.due_at).total_seconds() / 86400, 1))
    ]


def test_a_row_of_a_breakdown_is_the_dashboards_figure_for_that_grid(world, week):
    now = timezone.now()
    period = parse_week(WEEK, today=T.date())
    rep = build_report(cell=world.county, period=period, now=now)
    for town, line in zip(world.townships, rep.by_cell, strict=True):
        assert line.metrics == case_metrics(cell=town, start=period.start, end=period.end, now=now)


def test_a_report_takes_the_same_queries_however_many_cases(world, week, django_assert_num_queries):
    period = parse_week(WEEK, today=T.date())
    # two summaries, two resolved counts, the child grids and their figures, the units' figures
    # and names, the categories, the overdue cases
    with django_assert_num_queries(10):
        build_report(cell=world.county, period=period, now=timezone.now())


def test_one_unit_narrows_every_figure_to_its_cases(world, week):
    period = parse_week(WEEK, today=T.date())
    rep = build_report(
        cell=world.county, period=period, unit=world.unit("urban"), now=timezone.now()
    )
    assert (rep.metrics.total, rep.metrics.returned, rep.resolved_in_period) == (2, 1, 2)
    assert [line.metrics.total for line in rep.by_cell] == [2, 0]
    assert [line.name for line in rep.by_unit] == ["县城市管理局"]


# --- the page and the workbook ------------------------------------------------------------------


def test_the_printable_weekly_report_shows_the_figures_of_the_week(world, week, client):
    client.force_login(world.leader)
    response = client.get(f"/reports/weekly/?cell={world.county.code}&week={WEEK}")
    assert response.status_code == 200
    html = response.content.decode()
    # figure, this week, the week before, change
    assert _row(html, "data-figure", "total")[1:] == ["4", "1", "+3"]
    assert _row(html, "data-figure", "resolved_in_period")[1:] == ["2", "0", "+2"]
    assert _row(html, "data-figure", "return_rate")[1:3] == ["50.0%", "0.0%"]
    assert _row(html, "data-figure", "mean_hours_to_resolve")[1:] == ["24.0", "98.0", "-74.0"]
    assert _row(html, "data-figure", "satisfaction_rate")[1:] == ["100.0%", "—", "—"]
    town_a = world.townships[0]
    # grid, received, open, overdue, resolved, on time, hours, satisfaction, return, grid level
    assert _row(html, "data-line", town_a.code) == [
        town_a.name, "3", "2", "1", "1", "100.0%", "24.0", "100.0%", "50.0%", "100.0%",
    ]  # fmt: skip
    b = week["b"]
    assert _row(html, "data-case", str(b.pk))[:3] == ["B 路灯闪烁", "县城市管理局", b.cell.name]
    # A page to print on A4, titled with the week, saying when it was generated.
    assert "size: A4" in html
    with translation.override("zh-hans"):
        title = f"{WEEKLY_TITLE} · {world.county.name} · {WEEK}"
    assert f"<h1>{title}</h1>" in html
    generated = re.search(r'class="meta generated">(.*?)</p>', html, re.S).group(1)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", generated)
    # Nothing personal: the reporter of b is nowhere on the page.
    for personal in ("李四", "13812345678", "*******5678"):
        assert personal not in html


def _xlsx_rows(sheet) -> list[list]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_the_excel_workbook_has_the_same_numbers_as_the_report(world, week, client):
    client.force_login(world.leader)
    url = f"/reports/weekly/?cell={world.county.code}&week={WEEK}&format=xlsx"
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml"
    )
    book = load_workbook(BytesIO(response.content))
    assert book.sheetnames == ["概况", "分网格", "分单位", "主要类别", "超期工单"]
    rep = build_report(cell=world.county, period=parse_week(WEEK, today=T.date()), now=T)
    with translation.override("zh-hans"):
        labels = {str(label): key for key, label, _kind in SUMMARY}
    summary = {row[0]: row[1:] for row in _xlsx_rows(book["概况"]) if row and row[0] in labels}
    now = {**rep.metrics.as_dict(), "resolved_in_period": rep.resolved_in_period}
    before = {**rep.previous_metrics.as_dict(), "resolved_in_period": 0}
    assert {labels[label]: tuple(v[:2]) for label, v in summary.items()} == {
        key: (now[key], before[key]) for key, _label, _kind in SUMMARY
    }
    town_a, town_b = world.townships
    by_grid = _xlsx_rows(book["分网格"])
    assert [row[:5] for row in by_grid[1:]] == [
        [town_a.name, 3, 2, 1, 1],
        [town_b.name, 1, 1, 0, 0],
    ]
    assert by_grid[1][5:] == [1.0, 24.0, 1.0, 0.5, 1.0]
    assert [row[:2] for row in _xlsx_rows(book["分单位"])[1:]] == [
        ["县城市管理局", 2],
        [str(rep.by_unit[1].name), 2],
    ]
    assert _xlsx_rows(book["主要类别"])[1:] == [
        ["0201", "路灯损坏", 2],
        ["0302", "楼道杂物", 1],
        ["0401", "停水", 1],
    ]
    overdue = _xlsx_rows(book["超期工单"])
    assert [row[:3] for row in overdue[1:]] == [["B 路灯闪烁", "县城市管理局", week["b"].cell.name]]


def test_in_english_the_workbook_and_the_page_speak_english(world, week, client):
    client.force_login(world.leader)
    client.cookies["django_language"] = "en"
    base = f"/reports/monthly/?cell={world.county.code}&month=2025-03"
    book = load_workbook(BytesIO(client.get(base + "&format=xlsx").content))
    assert book.sheetnames == ["Summary", "By grid", "By unit", "Top categories", "Overdue cases"]
    rows = _xlsx_rows(book["Summary"])
    assert ["Figure", "This period", "Previous period", "Change"] in rows
    assert ["Cases received", 5, 1, 4] in rows  # a, b, c, f and e; d came in February
    assert _xlsx_rows(book["By grid"])[0][:4] == ["Grid", "Received", "Open", "Overdue now"]
    html = client.get(base).content.decode()
    assert f"<h1>Monthly assessment · {world.county.name} · 2025-03</h1>" in html


# --- who may see it -----------------------------------------------------------------------------


def test_a_township_sees_its_own_reports_and_not_the_other_townships(world, week, client):
    town_b = world.townships[1]
    client.force_login(world.township_dispatcher_a)
    own = client.get(f"/reports/weekly/?week={WEEK}")
    assert own.status_code == 200
    assert _row(own.content.decode(), "data-figure", "total")[1] == "3"
    assert client.get(f"/reports/weekly/?cell={town_b.code}&week={WEEK}").status_code == 404
    assert client.get(f"/reports/monthly/?cell={world.county.code}&format=xlsx").status_code == 404
    assert client.get(f"/reports/?cell={town_b.code}").status_code == 404


def test_residents_may_not_and_visitors_must_log_in(world, client):
    url = f"/reports/weekly/?week={WEEK}"
    response = client.get(url)
    assert (response.status_code, response.url) == (
        302,
        "/login/?next=/reports/weekly/%3Fweek%3D2025-W10",
    )
    client.force_login(world.resident)
    assert client.get(url).status_code == 403
    assert client.get("/reports/").status_code == 403


def test_the_choice_page_offers_the_grids_in_scope_and_refuses_a_bad_week(world, client):
    client.force_login(world.township_dispatcher_a)
    town_a, town_b = world.townships
    html = client.get("/reports/").content.decode()
    assert f'value="{town_a.code}" selected' in html
    assert f'value="{world.grid_a1.code}"' in html
    assert f'value="{town_b.code}"' not in html
    assert f'value="{world.county.code}"' not in html
    assert 'for="weekly-week"' in html and 'for="monthly-month"' in html
    bad = client.get("/reports/weekly/?week=2025-W99")
    assert bad.status_code == 400
    assert 'role="alert"' in bad.content.decode()
