"""一屏观全域 /screen/: what a leader reads per area, drilling down within their scope, and the
refresh that brings new cases without a reload."""

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.utils import timezone

from wangge.cases.actions import dispatch_case

URL = "/screen/"
PANELS = "/screen/panels/"


class _Rows(HTMLParser):
    """Rows of the areas table: {code: [name, open, overdue, due soon, reported]}, plus the
    KPI cards {key: value} and the breadcrumb's names."""

    def __init__(self):
        super().__init__()
        self.rows: dict[str, list[str]] = {}
        self.kpis: dict[str, str] = {}
        self.crumbs: list[str] = []
        self._row = self._kpi = None
        self._cell: list[str] | None = None
        self._value = self._crumb = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-area" in a:
            self._row = a["data-area"]
            self.rows[self._row] = []
        elif self._row and tag in ("th", "td"):
            self._cell = []
        elif tag == "li" and "data-kpi" in a:
            self._kpi = a["data-kpi"]
        elif self._kpi and tag == "strong":
            self._value = True
        elif tag == "nav" and a.get("class") == "sc-crumbs":
            self._crumb = True

    def handle_endtag(self, tag):
        if self._row and tag in ("th", "td") and self._cell is not None:
            self.rows[self._row].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag == "strong":
            self._value = False
        elif tag == "li":
            self._kpi = None
        elif tag == "nav":
            self._crumb = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._value and self._kpi:
            self.kpis[self._kpi] = data.strip()
        if self._crumb and data.strip():
            self.crumbs.append(data.strip())


def _read(response) -> _Rows:
    assert response.status_code == 200
    parser = _Rows()
    parser.feed(response.content.decode())
    return parser


def _client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.fixture
def cases(world, report):
    """Grid A1 (township A): two new cases today and one dispatched a month ago, overdue now;
    grid B1 (township B): one new case."""
    month_ago = timezone.now() - timedelta(days=30)
    report("路灯不亮")
    report("垃圾未清运", category="0202")
    late = report("井盖缺失", now=month_ago)
    dispatch_case(late, unit=world.unit("urban"), actor=world.dispatcher, now=month_ago)
    report("噪音扰民", cell=world.grid_b1)
    return late


def test_the_leader_sees_each_township_with_its_open_and_overdue_cases(world, cases):
    page = _read(_client(world.leader).get(URL))

    town_a, town_b = world.townships
    # name, open, overdue, due soon, reported in the last 30 days (the late one is older)
    assert page.rows == {
        town_a.code: [town_a.name, "3", "1", "0", "2"],
        town_b.code: [town_b.name, "1", "0", "0", "1"],
    }
    assert (page.kpis["open"], page.kpis["red"], page.kpis["reported"]) == ("4", "1", "3")
    assert page.crumbs == [world.county.name]


def test_drilling_into_a_township_then_a_community_narrows_the_numbers_and_the_breadcrumb(
    world, cases
):
    client = _client(world.leader)
    town_a = world.townships[0]
    community = world.grid_a1.parent

    township = _read(client.get(URL, {"cell": town_a.code}))
    communities = list(town_a.children.order_by("code"))
    assert {code: row[1:3] for code, row in township.rows.items()} == {
        communities[0].code: ["3", "1"],
        communities[1].code: ["0", "0"],
    }
    assert township.crumbs == [world.county.name, town_a.name]
    assert township.kpis["open"] == "3"

    grids = _read(client.get(URL, {"cell": community.code}))
    assert grids.rows[world.grid_a1.code][1:3] == ["3", "1"]
    assert grids.crumbs == [world.county.name, town_a.name, community.name]

    # A grid is the deepest level: it shows itself and links nowhere further.
    grid = client.get(URL, {"cell": world.grid_a1.code})
    assert _read(grid).rows == {world.grid_a1.code: [world.grid_a1.name, "3", "1", "0", "2"]}
    row = re.search(rf'<tr data-area="{world.grid_a1.code}">.*?</tr>', grid.content.decode(), re.S)
    assert "<a " not in row.group(0)


def test_a_period_of_seven_days_counts_only_its_reports(world, report):
    report("上周的", now=timezone.now() - timedelta(days=10))
    report("今天的")
    client = _client(world.leader)
    week = _read(client.get(URL, {"days": "7"}))
    month = _read(client.get(URL))
    assert (week.kpis["reported"], month.kpis["reported"]) == ("1", "2")
    assert week.kpis["open"] == month.kpis["open"] == "2"  # the backlog knows no period


@pytest.mark.parametrize(
    ("username", "outside"),
    [
        ("township_dispatcher_a", lambda w: w.county),
        ("township_dispatcher_a", lambda w: w.townships[1]),
        ("secretary_a", lambda w: w.townships[0]),
        ("secretary_a", lambda w: w.grid_b1),
        ("grid_worker_a1", lambda w: w.grid_a1.parent),
        ("grid_worker_a1", lambda w: w.grid_b1),
    ],
)
def test_nobody_drills_outside_their_subtree(world, cases, username, outside):
    client = _client(world.users[username])
    cell = outside(world)
    assert client.get(URL, {"cell": cell.code}).status_code == 404
    assert client.get(PANELS, {"cell": cell.code}).status_code == 404


def test_a_township_screen_starts_at_the_township_and_its_breadcrumb_not_above(world, cases):
    town_a = world.townships[0]
    page = _read(_client(world.township_dispatcher_a).get(URL))
    assert page.crumbs == [town_a.name]
    assert set(page.rows) == {c.code for c in town_a.children.all()}
    assert page.kpis["open"] == "3"


def test_a_grid_worker_sees_their_grid(world, cases):
    page = _read(_client(world.grid_worker_a1).get(URL))
    assert list(page.rows) == [world.grid_a1.code]
    assert page.crumbs == [world.grid_a1.name]


def test_a_resident_is_refused_and_a_stranger_is_sent_to_log_in(world):
    assert _client(world.resident).get(URL).status_code == 403
    assert _client(world.resident).get(PANELS).status_code == 403
    anonymous = Client()
    assert anonymous.get(URL)["Location"] == "/login/?next=/screen/"
    # htmx's refresh of an ended session takes the whole page to the login, not the panel
    refresh = anonymous.get(PANELS, {"cell": world.county.code}, HTTP_HX_REQUEST="true")
    assert refresh["HX-Redirect"] == f"/login/?next=%2Fscreen%2F%3Fcell%3D{world.county.code}"


def test_a_unit_handler_without_a_grid_scope_finds_no_screen(world):
    assert _client(world.urban_handler).get(URL).status_code == 404


def test_the_refresh_brings_a_new_case_and_the_time_of_the_update(world, cases, report):
    client = _client(world.leader)
    town_b = world.townships[1]
    before = _read(client.get(PANELS, {"cell": world.county.code}))
    report("又一个问题", cell=world.grid_b1)
    response = client.get(PANELS, {"cell": world.county.code})
    after = _read(response)

    assert (before.rows[town_b.code][1], after.rows[town_b.code][1]) == ("1", "2")
    assert (before.kpis["open"], after.kpis["open"]) == ("4", "5")
    html = response.content.decode()
    assert not html.lstrip().startswith("<!doctype")  # the panels alone, no page around them
    assert re.search(r'<time id="screen-updated" datetime="[^"]+">\d\d:\d\d:\d\d</time>', html)
    assert 'hx-trigger="every 30s' in html


def test_the_screen_in_chinese_names_its_panels(world, cases):
    client = Client()
    client.force_login(world.leader)
    html = client.get(URL).content.decode()
    assert "一屏观全域" in html
    assert "小事不出网格" in html
