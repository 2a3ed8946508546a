"""定位 by place name: a message without coordinates is placed in the township, community or
grid it names; places elsewhere and names we cannot tell apart leave it where it is."""

from pathlib import Path

import pytest

from wangge.cases.actions import dispatch_case, report_case
from wangge.cases.models import Case, Channel, LocationFlag
from wangge.cases.tests.test_api_intake import api, post
from wangge.dispatch.places import extract_place, place_case
from wangge.grids.actions import create_cell
from wangge.grids.models import GridCell, GridLevel
from wangge.open311.actions import create_key

NBS = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "cn-admin-nbs2023"


def cell(name: str) -> GridCell:
    return GridCell.objects.get(name=name)


def found(text: str):
    match = extract_place(text)
    return match and (match.cell.name, match.matched, match.confidence)


@pytest.fixture
def divisions(settings, tmp_path):
    """A few national division names, as in cn-admin-nbs2023: 丰县 (徐州市) has a 凤城街道 and a
    长岗镇 too."""
    files = {
        "provinces.csv": "code,name\n32,江苏省\n41,河南省\n",
        "cities.csv": "code,name,provinceCode\n3203,徐州市,32\n4101,郑州市,41\n4114,商丘市,41\n",
        "areas.csv": (
            "code,name,cityCode,provinceCode\n320321,丰县,3203,32\n410105,金水区,4101,41\n"
            "411422,睢县,4114,41\n"
        ),
        "streets.csv": (
            "code,name,areaCode,provinceCode,cityCode\n"
            "320321002,凤城街道,320321,32,3203\n320321100,长岗镇,320321,32,3203\n"
            "410105001,经八路街道,410105,41,4101\n"
            "411422001,凤城街道,411422,41,4114\n411422100,长岗镇,411422,41,4114\n"
        ),
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    settings.WANGGE_ADMIN_DIVISIONS_DIR = str(tmp_path)
    return tmp_path


def test_the_demo_world_has_the_names_these_tests_use(world):
    assert [t.name for t in world.townships] == ["凤城街道", "董店街道"]
    assert [c.name for c in GridCell.objects.filter(level=GridLevel.COMMUNITY)] == [
        "凤城西社区",
        "凤城南社区",
        "董店西社区",
        "董店南社区",
    ]
    assert (world.grid_a1.name, world.grid_b1.name) == ("凤城西社区第1网格", "董店西社区第1网格")


def test_the_deepest_named_cell_wins_by_full_name_or_variant(world):
    assert found("凤城街道西社区门口路灯不亮") == ("凤城西社区", "凤城街道西社区", 0.8)
    assert found("凤城街道凤城西社区门口路灯不亮") == ("凤城西社区", "凤城西社区", 1.0)
    assert found("凤城西门口路灯不亮") == ("凤城西社区", "凤城西", 0.8)
    assert found("凤城西社区第1网格3号楼下水道堵了") == (
        "凤城西社区第1网格",
        "凤城西社区第1网格",
        1.0,
    )
    assert found("董店南社区第2网格旁边") == ("董店南社区第2网格", "董店南社区第2网格", 1.0)


def test_a_township_alone_places_in_the_township(world):
    assert found("凤城街道某小区楼道堆物") == ("凤城街道", "凤城街道", 1.0)
    assert found("董店那边的路灯坏了") == ("董店街道", "董店", 0.8)


def test_a_shared_name_is_resolved_by_the_township_named_beside_it(world):
    assert found("董店街道的西社区门口积水") == ("董店西社区", "西社区", 0.8)
    assert found("第1网格门口积水，在凤城南社区") == ("凤城南社区第1网格", "第1网格", 0.8)
    # two buildings named 1号楼 in 凤城西社区 (one per grid): only the community is certain
    assert found("凤城西社区1号楼楼道堆物") == ("凤城西社区", "凤城西社区", 1.0)


def test_names_that_cannot_be_told_apart_leave_the_case_unplaced(world):
    assert found("西社区门口积水") is None  # 凤城西社区 or 董店西社区
    assert found("1号楼楼道堆物") is None
    assert found("凤城西社区和董店南社区都有人反映") is None  # two townships: only the county
    assert found("睢县有人反映路灯不亮") is None  # the county is where it already is
    assert found("路灯不亮") is None
    assert found("") is None


def test_two_communities_of_one_township_place_in_the_township(world):
    assert found("凤城西社区和凤城南社区交界处路灯不亮") == (
        "凤城街道",
        "凤城西社区、凤城南社区",
        0.5,
    )


def test_a_place_outside_the_county_is_not_taken_for_ours(world, divisions):
    assert found("徐州市丰县凤城街道路灯不亮") is None
    assert found("丰县凤城街道路灯不亮") is None
    assert found("我在郑州市打工，凤城街道老家门口路灯不亮") is None
    assert found("郑州市金水区经八路街道路灯不亮") is None
    # names only we have, and places in our county or above it, still count
    assert found("我在郑州市打工，老家凤城西社区门口路灯不亮") == ("凤城西社区", "凤城西社区", 1.0)
    assert found("河南省商丘市睢县凤城街道路灯不亮") == ("凤城街道", "凤城街道", 1.0)
    assert found("睢县长岗镇路灯不亮") is None  # ours, but not in the grid yet
    assert found("长岗镇凤城西社区路灯不亮") == ("凤城西社区", "凤城西社区", 1.0)
    # a short city name only counts right before a place: "西安" may be part of 西安置小区
    assert found("郑州凤城街道路灯不亮") is None
    assert found("郑州来的亲戚说凤城街道路灯不亮") == ("凤城街道", "凤城街道", 1.0)


def test_without_division_data_outside_places_are_simply_unknown(world, settings, tmp_path):
    settings.WANGGE_ADMIN_DIVISIONS_DIR = str(tmp_path / "absent")
    assert found("郑州市金水区经八路路灯不亮") is None
    assert found("凤城街道路灯不亮") == ("凤城街道", "凤城街道", 1.0)


@pytest.mark.skipif(not (NBS / "streets.csv").exists(), reason="no ../shared/data")
def test_the_national_division_codes_tell_other_counties_apart(world, settings):
    settings.WANGGE_ADMIN_DIVISIONS_DIR = str(NBS)
    assert found("江苏省徐州市丰县凤城街道路灯不亮") is None
    assert found("济南市章丘区凤城街道路灯不亮") is None
    assert found("商丘市睢县凤城街道西社区路灯不亮") == ("凤城西社区", "凤城街道西社区", 0.8)


def test_a_new_grid_cell_is_recognised_at_once(world):
    town = world.townships[0]
    assert found("凤城新华社区门口积水") == ("凤城街道", "凤城", 0.8)
    create_cell(code=f"{town.code}009", name="凤城新华社区", level=GridLevel.COMMUNITY, parent=town)
    assert found("凤城新华社区门口积水") == ("凤城新华社区", "凤城新华社区", 1.0)
    assert found("凤城街道新华社区门口积水") == ("凤城新华社区", "凤城街道新华社区", 0.8)


def test_a_hotline_case_is_placed_with_an_internal_event(world):
    case, _ = report_case(channel=Channel.HOTLINE, title="凤城街道西社区门口路灯不亮", actor=None)
    assert (case.cell, case.location_flag) == (world.county, LocationFlag.NONE)
    case = place_case(case)
    case.refresh_from_db()
    community = cell("凤城西社区")
    assert (case.cell, case.handling_cell, case.location_flag) == (
        community,
        community,
        LocationFlag.OK,
    )
    assert [(e.kind, e.audience) for e in case.events.all()] == [
        ("report", "public"),
        ("relocate", "internal"),
    ]
    event = case.events.get(kind="relocate")
    assert (event.actor.username, event.data["to"], event.data["how"]) == (
        "system:places",
        community.code,
        "place-name",
    )


def test_the_address_counts_and_cases_with_coordinates_or_elsewhere_stay(world, report):
    by_address, _ = report_case(
        channel=Channel.HOTLINE, title="路灯不亮", address="董店南社区2号路口", actor=None
    )
    assert place_case(by_address).cell == cell("董店南社区")

    located = report("董店南社区路灯不亮")  # coordinates in grid_a1 win over the words
    assert place_case(located).cell == cell(f"{world.grid_a1.name}1号微网格")
    nowhere, _ = report_case(channel=Channel.HOTLINE, title="郑州市经八路路灯不亮", actor=None)
    place_case(nowhere)
    nowhere.refresh_from_db()
    assert (nowhere.cell, nowhere.location_flag) == (world.county, LocationFlag.NONE)
    assert [e.kind for e in nowhere.events.all()] == ["report"]


def test_a_hotline_call_through_the_api_is_placed_then_routed_as_usual(world):
    body = {
        "title": f"{world.grid_a1.name}楼道堆物",
        "channel": "hotline",
        "category": "0302",  # grid-level: goes to the grid's worker on duty
    }
    r = post(api(world.dispatcher), "", body)
    assert r.status_code == 201, r.content
    case = r.json()
    assert (case["cell"]["code"], case["state"], case["assignee"]["id"]) == (
        world.grid_a1.code,
        "dispatched",
        world.grid_worker_a1.pk,
    )
    detail = api(world.dispatcher).get(f"/api/v1/cases/{case['id']}").json()
    assert [e["kind"] for e in detail["events"]] == ["report", "relocate", "dispatch"]


def test_an_open311_request_with_only_an_address_string_is_placed(world, client):
    _key, raw = create_key(name="fixmystreet", channel="fixmystreet.example")
    form = {
        "api_key": raw,
        "service_code": "0201",
        "description": "路灯不亮",
        "address_string": "董店街道西社区文化广场东侧",
    }
    r = client.post("/open311/v2/requests.json", form, HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 201, r.content
    case = Case.objects.get()
    assert (case.cell, case.location_flag, case.state, case.unit) == (
        cell("董店西社区"),
        LocationFlag.OK,
        "dispatched",
        world.unit("urban"),
    )
    assert [e.kind for e in case.events.all()] == ["report", "relocate", "dispatch"]


def test_a_case_already_in_hand_is_not_moved_by_its_words(world):
    case, _ = report_case(channel=Channel.HOTLINE, title="凤城西社区路灯不亮", actor=None)
    case = dispatch_case(case, unit=world.unit("urban"), actor=world.dispatcher)
    place_case(case)
    case.refresh_from_db()
    assert (case.cell, case.location_flag, case.state) == (
        world.county,
        LocationFlag.NONE,
        "dispatched",
    )
    assert [e.kind for e in case.events.all()] == ["report", "dispatch"]
