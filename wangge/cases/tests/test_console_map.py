"""The console map: its page loads only local assets, and its JSON keeps to the user's scope
(grids and cases of another township are not sent)."""

import re

from wangge.cases.actions import close_case, dispatch_case
from wangge.grids.models import GridLevel


def _json(client, user, url, **params):
    client.force_login(user)
    response = client.get(url, params)
    assert response.status_code == 200
    return response.json()


def test_a_township_dispatcher_gets_only_the_grids_of_their_township(world, client):
    town_a, town_b = world.townships
    data = _json(client, world.township_dispatcher_a, "/console/map/grids.json")

    codes = [f["properties"]["code"] for f in data["features"]]
    assert codes[0] == town_a.code
    assert all(code.startswith(town_a.code) for code in codes)
    assert world.grid_a1.code in codes
    assert town_b.code not in codes and world.grid_b1.code not in codes
    # Down to grid level, never the micro-grids under it.
    assert {f["properties"]["level"] for f in data["features"]} == {
        GridLevel.TOWNSHIP, GridLevel.COMMUNITY, GridLevel.GRID
    }  # fmt: skip
    assert data["features"][0]["geometry"] == town_a.geometry


def test_map_cases_leave_out_another_townships_cases(world, report, client):
    mine = report("凤城井盖")
    theirs = report("董店井盖", cell=world.grid_b1)

    township = _json(client, world.township_dispatcher_a, "/console/map/cases.json")
    county = _json(client, world.dispatcher, "/console/map/cases.json")

    assert [c["code"] for c in township["cases"]] == [mine.tracking_code]
    assert sorted(c["code"] for c in county["cases"]) == sorted(
        [mine.tracking_code, theirs.tracking_code]
    )


def test_map_cases_say_state_and_colour_in_words_and_link_to_the_case(world, report, client):
    case = dispatch_case(report("路灯"), unit=world.unit("urban"), actor=world.dispatcher)
    client.cookies["django_language"] = "en"
    data = _json(client, world.dispatcher, "/console/map/cases.json")
    assert data == {
        "cases": [
            {
                "id": case.pk, "code": case.tracking_code, "title": "路灯",
                "state": "dispatched", "state_label": "Dispatched",
                "colour": "green", "colour_label": "On time",
                "lon": case.lon, "lat": case.lat, "url": f"/cases/{case.pk}/",
            }
        ],
        "truncated": False,
    }  # fmt: skip


def test_closed_cases_stay_off_the_map_unless_asked_for(world, report, client):
    open_case = report("开着的")
    closed = close_case(report("无效的"), reason="重复", actor=world.dispatcher)

    default = _json(client, world.dispatcher, "/console/map/cases.json")
    asked = _json(client, world.dispatcher, "/console/map/cases.json", state="closed")

    assert [c["code"] for c in default["cases"]] == [open_case.tracking_code]
    assert [c["code"] for c in asked["cases"]] == [closed.tracking_code]


def test_map_page_loads_local_leaflet_and_no_tiles_unless_configured(world, client, settings):
    client.force_login(world.dispatcher)
    html = client.get("/console/map/").content.decode()
    assert '<script src="/static/leaflet/leaflet.js">' in html
    assert '<script src="/static/vendor/leaflet.markercluster/leaflet.markercluster.js">' in html
    assert 'data-tile-url=""' in html
    assert not re.search(r'(src|href)="https?://', html)

    settings.WANGGE_TILE_URL = "/tiles/{z}/{x}/{y}.png"
    html = client.get("/console/map/", {"state": "new"}).content.decode()
    assert 'data-tile-url="/tiles/{z}/{x}/{y}.png"' in html
    assert 'data-cases="/console/map/cases.json?state=new"' in html


def test_someone_without_a_role_gets_no_map(world, client):
    client.force_login(world.resident)
    for url in ("/console/map/", "/console/map/grids.json", "/console/map/cases.json"):
        assert client.get(url).status_code == 403
