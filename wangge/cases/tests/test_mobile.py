"""The grid worker's H5 pages (/h5/): what waits for me, most urgent first and only in my
scope; a case with the moves its state allows; 一键上报's categories; my grid; the service
worker; and the API answers the phone's outbox relies on."""

import json
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from wangge.cases.actions import accept_case, dispatch_case, report_case, resolve_case
from wangge.cases.models import Case, Category, Channel
from wangge.grids.models import GridCell, GridLevel
from wangge.people.models import Household, Resident, Tag
from wangge.world import centre_of

PHONE = "13812345678"


def _task_ids(response) -> list[int]:
    return [int(n) for n in re.findall(r'<li class="task[^"]*" data-case="(\d+)"', response.text)]


def _to_worker(case, world, *, worker=None, now=None):
    return dispatch_case(
        case, assignee=worker or world.grid_worker_a1, actor=world.dispatcher, now=now
    )


def test_my_tasks_lists_what_waits_for_me_most_urgent_first(world, report, client):
    month_ago = timezone.now() - timedelta(days=30)
    fresh = _to_worker(report("楼道堆放杂物", category="0302"), world)
    late = _to_worker(report("邻里噪音纠纷", category="0301", now=month_ago), world, now=month_ago)
    done = _to_worker(report("楼道堆放纸箱", category="0302"), world)
    resolve_case(accept_case(done, actor=world.grid_worker_a1), outcome="solved", note="已清理",
                 actor=world.grid_worker_a1)  # fmt: skip
    to_unit = dispatch_case(report("路灯不亮"), unit=world.unit("urban"), actor=world.dispatcher)
    other_grid = _to_worker(
        report("楼道杂物", category="0302", cell=world.grid_b1), world, worker=world.grid_worker_b1
    )
    client.force_login(world.grid_worker_a1)

    response = client.get(reverse("h5_home"))

    assert response.status_code == 200
    assert _task_ids(response) == [late.pk, fresh.pk]
    rows = response.text.split('<li class="task')[1:]
    assert "colour-red" in rows[0] and "chip chip-red" in rows[0] and "已超时" in rows[0]
    assert "colour-green" in rows[1] and "正常" in rows[1]
    for absent in (done, to_unit, other_grid):
        assert f'data-case="{absent.pk}"' not in response.text


def test_a_deputy_sees_the_grid_cases_of_the_grid_worker_they_cover(world, report, client):
    case = _to_worker(report("楼道堆放杂物", category="0302"), world)
    client.force_login(world.grid_deputy_a1)

    assert _task_ids(client.get(reverse("h5_home"))) == [case.pk]


def test_h5_is_for_those_who_handle_cases(world, report, client):
    case = _to_worker(report("楼道堆放杂物", category="0302"), world)
    home = reverse("h5_home")

    assert client.get(home).url == f"/login/?next={home}"
    for user in (world.dispatcher, world.users["resident"]):
        client.force_login(user)
        assert client.get(home).status_code == 403
    client.force_login(world.grid_worker_b1)
    assert client.get(reverse("h5_case", args=[case.pk])).status_code == 404
    assert client.get(reverse("h5_case", args=[999_999])).status_code == 404


def test_case_page_offers_the_moves_its_state_allows_with_the_steps_to_them(world, report, client):
    case = _to_worker(
        report("楼道堆放杂物", category="0302", reporter_name="李秀英", reporter_phone=PHONE), world
    )
    client.force_login(world.grid_worker_a1)
    url = reverse("h5_case", args=[case.pk])

    page = client.get(url).text
    steps = dict(re.findall(r'id="act-(\w+)" data-case="\d+" data-steps="([\w ]+)"', page))
    assert steps == {"accept": "accept", "start": "accept start", "resolve": "accept resolve"}
    assert 'id="case-state">已派单<' in page
    for secret in (PHONE, "*******5678", "李秀英", "李**"):
        assert secret not in page
    settled = json.loads(re.search(r'id="h5-settled"[^>]*>(.*?)</script>', page).group(1))
    assert settled["resolve"] == ["closed", "rated", "resolved"]
    assert settled["accept"] == ["accepted", "closed", "in_progress", "paused", "rated", "resolved"]

    accept_case(case, actor=world.grid_worker_a1)
    page = client.get(url).text
    steps = dict(re.findall(r'id="act-(\w+)" data-case="\d+" data-steps="([\w ]+)"', page))
    assert steps == {"start": "start", "resolve": "resolve"}

    resolve_case(case, outcome="solved", note="已清理", actor=world.grid_worker_a1)
    page = client.get(url).text
    assert 'id="case-state">已办结<' in page
    assert "data-steps" not in page


def test_a_leader_may_read_a_case_page_but_is_offered_no_moves(world, report, client):
    case = _to_worker(report("楼道堆放杂物", category="0302"), world)
    client.force_login(world.leader)

    page = client.get(reverse("h5_case", args=[case.pk])).text

    assert "楼道堆放杂物" in page
    assert "data-steps" not in page


def test_patrol_report_offers_what_my_grid_reports_most_then_grid_level_work(world, client):
    lon, lat = centre_of(world.grid_a1)
    report_case(channel=Channel.PATROL, title="路面坑洼", category=world.category("0601"),
                lon=lon, lat=lat, actor=world.grid_worker_a1)  # fmt: skip
    client.force_login(world.grid_worker_a1)
    leaves = Category.objects.filter(is_active=True, children__isnull=True, raised_by_system=False)
    grid_level = list(
        leaves.filter(grid_level=True).order_by("code").values_list("code", flat=True)
    )

    page = client.get(reverse("h5_report")).text

    codes = re.findall(r'name="category" value="(\w+)"', page)
    assert codes[: 1 + len(grid_level)] == ["0601", *grid_level]
    assert sorted(codes) == sorted(set(codes))  # each category once
    assert "1102" not in codes  # 烟感报警 is raised by the smoke alarm, not picked by hand
    assert f'data-grid="{world.grid_a1.code}"' in page
    for label in ('for="patrol-photo"', 'for="patrol-note"', "<legend>"):
        assert label in page


def test_my_grid_shows_its_buildings_and_its_recent_cases_only(world, report, client):
    mine = report("楼道堆放杂物", category="0302")
    theirs = report("楼道杂物", category="0302", cell=world.grid_b1)
    client.force_login(world.grid_worker_a1)

    page = client.get(reverse("h5_grid")).text

    assert world.grid_a1.name in page
    assert f'data-case="{mine.pk}"' in page
    assert f'data-case="{theirs.pk}"' not in page
    assert re.findall(r'<li class="building">(\S+) <small>', page) == ["1号楼", "2号楼"]


def test_my_grid_lists_households_with_who_needs_attention_and_no_numbers(world, client):
    building = GridCell.objects.filter(
        path__startswith=world.grid_a1.path, level=GridLevel.BUILDING
    ).first()
    home = Household.objects.create(cell=building, address="幸福路8号", door="101")
    alone = Resident.objects.create(household=home, name="张桂英", phone="13812345678")
    alone.tags.set([Tag.objects.get(code="living_alone"), Tag.objects.get(code="key_person")])
    client.force_login(world.grid_worker_a1)

    page = client.get(reverse("h5_grid")).text

    row = re.search(rf'data-household="{home.pk}">(.*?)</li>', page, re.S).group(1)
    assert "101" in row and "独居老人" in row
    assert "重点人员" not in row  # sensitive tags stay off this list
    assert "13812345678" not in page and "*******5678" not in page


def test_service_worker_is_served_under_h5_and_keeps_the_app_shell(world, client):
    response = client.get("/h5/sw.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Service-Worker-Allowed"] == "/h5/"
    body = response.content.decode()
    for url in ("/static/h5/outbox.js", "/static/h5/h5.js", "/static/h5/h5.css", "/h5/offline/"):
        assert f'"{url}"' in body
    assert "http://" not in body and "https://" not in body


@pytest.mark.parametrize("name", ["h5_home", "h5_report", "h5_grid", "h5_offline"])
def test_every_h5_page_has_the_language_switch_and_loads_nothing_from_outside(world, client, name):
    client.force_login(world.grid_worker_a1)

    page = client.get(reverse(name)).text

    assert f'action="{reverse("set_language")}"' in page
    assert 'value="en"' in page and 'value="zh-hans"' in page
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert 'src="/static/h5/outbox.js"' in page


def test_the_api_answers_the_phone_relies_on(world, report):
    """The outbox sends with the session and its CSRF header; a repeat of a report or a photo
    answers with the first; a repeated move answers 409 illegal_transition and the case reads
    as already past it."""
    case = _to_worker(report("楼道堆放杂物", category="0302"), world)
    phone = Client(enforce_csrf_checks=True)
    phone.force_login(world.grid_worker_a1)
    phone.get(reverse("h5_home"))
    csrf = {"HTTP_X_CSRFTOKEN": phone.cookies["csrftoken"].value}
    api = f"/api/v1/cases/{case.pk}"

    assert phone.post(f"{api}/accept", "{}", content_type="application/json").status_code == 403
    assert (
        phone.post(f"{api}/accept", "{}", content_type="application/json", **csrf).status_code
        == 200
    )
    body = json.dumps({"outcome": "solved", "note": "已清理"})
    first = phone.post(f"{api}/resolve", body, content_type="application/json", **csrf)
    again = phone.post(f"{api}/resolve", body, content_type="application/json", **csrf)
    assert (first.status_code, again.status_code) == (200, 409)
    assert again.json()["code"] == "illegal_transition"
    assert phone.get(api).json()["state"] == "resolved"

    lon, lat = centre_of(world.grid_a1)
    patrol = {"title": "楼道杂物", "channel": "patrol", "category": "0302", "lon": lon, "lat": lat}
    key = {"HTTP_IDEMPOTENCY_KEY": "3f1c6a52-8d0e-4b8e-9d55-2c1f0b7e9a10", **csrf}
    sent = [phone.post("/api/v1/cases", json.dumps(patrol), content_type="application/json", **key)
            for _ in range(2)]  # fmt: skip
    assert [r.status_code for r in sent] == [201, 200]
    assert sent[0].json()["id"] == sent[1].json()["id"]
    assert Case.objects.filter(channel=Channel.PATROL).count() == 1
