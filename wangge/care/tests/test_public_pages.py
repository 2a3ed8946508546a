"""Care stays off residents' pages: a missed check-in and a device alarm run to resolved, and a
household visit's finding becomes a case; then every public page (grid pages at every level,
tracking, report, QR poster, community, projects, deliberation, time bank, Open311 GET, 我的数据)
is fetched and none shows the person's name, given name or address. The system's titles name
the person masked (张**) and never the address; a category not marked public is absent from the
public lists while a public one shows."""

import json
from datetime import datetime, time, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from wangge.care.actions import enrol, record_device_message, record_visit, sweep_care
from wangge.care.actions import visit_to_case as make_case_of_visit
from wangge.care.models import Device, DeviceKind
from wangge.cases.actions import accept_case, dispatch_case, resolve_case
from wangge.cases.models import Case, Category, Channel, Outcome
from wangge.grids.models import GridCell
from wangge.open311.actions import create_key
from wangge.people.models import Household, Resident
from wangge.world import centre_of

NAME, GIVEN, ADDRESS = "张桂英", "桂英", "幸福路8号3栋"


@pytest.fixture
def building(world) -> GridCell:
    return GridCell.objects.get(code=f"{world.grid_a1.code}0101")


@pytest.fixture
def grandma(world, building) -> Resident:
    home = Household.objects.create(cell=building, address=ADDRESS, door="101")
    return Resident.objects.create(household=home, name=NAME, phone="13812345678")


def resolved(world, case: Case) -> Case:
    """Run a case to 办结 whoever it went to."""
    case.refresh_from_db()
    if case.state == "new":
        case = dispatch_case(case, assignee=world.grid_worker_a1, actor=world.dispatcher)
    handler = case.assignee or {world.unit("urban").pk: world.urban_handler}[case.unit_id]
    case = accept_case(case, actor=handler)
    return resolve_case(case, outcome=Outcome.SOLVED, note="已上门查看，老人平安", actor=handler)


@pytest.fixture
def care_cases(world, grandma) -> list[Case]:
    """A missed check-in (yesterday), an emergency button's alarm, a visit's finding: resolved."""
    enrolment = enrol(
        grandma,
        window_start=time(7, 0),
        window_end=time(9, 0),
        actor=world.secretary_a,
        carers=[{"kind": "family", "name": "女儿李娜", "phone": "13900001111", "wait_minutes": 20}],
    )
    day = timezone.localdate() - timedelta(days=1)

    def at(hour, minute):
        return timezone.make_aware(datetime.combine(day, time(hour, minute)))

    sweep_care(now=at(9, 1))
    assert sweep_care(now=at(9, 30)).cases == 1
    missed = enrolment.alerts.get().case

    button = Device.objects.create(
        serial="BTN-1", kind=DeviceKind.BUTTON, household=grandma.household, resident=grandma
    )
    alarm = record_device_message(
        button, message_id="m1", kind="alarm", occurred_at=timezone.now(), payload={}
    ).case

    visit, _created = record_visit(
        grandma.household, visitor=world.grid_worker_a1, findings=f"{NAME}家楼道灯坏了"
    )
    found = make_case_of_visit(
        visit,
        actor=world.grid_worker_a1,
        title=f"{NAME}家楼道灯坏了",
        category=world.category("0201"),
    )
    return [resolved(world, c) for c in (missed, alarm, found)]


def open311_post(client, key: str, world, *, code: str, description: str) -> str:
    lon, lat = centre_of(world.grid_a1)
    answer = client.post(
        "/open311/v2/requests.json",
        {"api_key": key, "service_code": code, "lat": lat, "long": lon, "description": description},
    )
    assert answer.status_code == 201, answer.content
    return answer.json()[0]["service_request_id"]


def text_of(response) -> str:
    body = response.content.decode("utf-8")
    if response.get("Content-Type", "").startswith("application/json"):
        return json.dumps(json.loads(body), ensure_ascii=False)  # \\u escapes would hide a name
    return body


def test_generated_titles_name_the_person_masked_and_never_the_address(care_cases):
    missed, alarm, _found = care_cases
    assert (missed.title, alarm.title) == ("今日未报平安：张**", "紧急呼叫按钮：张**")
    for case in (missed, alarm):
        for secret in (NAME, GIVEN, ADDRESS):
            assert secret not in case.title + case.description, (case.title, secret)
        assert case.address == f"{ADDRESS} 101"  # for the staff who go there


def public_pages(world, building, codes: list[str]) -> list[str]:
    grid, micro = world.grid_a1, building.parent
    community, township = grid.parent, grid.parent.parent
    return [
        *(f"/grids/{c.code}/" for c in (world.county, township, community, grid, micro, building)),
        *(f"/track/{code}/" for code in codes),
        *(f"/report/done/{code}/" for code in codes),
        "/report/",
        f"/report/?grid={grid.code}",
        f"/r/{grid.code}/",
        "/report/grids.json",
        f"/qr/{grid.code}/poster/",
        "/community/",
        f"/community/?community={community.code}",
        f"/community/{community.code}/services/",
        f"/wishes/{community.code}/",
        f"/timebank/{community.code}/",
        f"/projects/{community.code}/",
        f"/projects/{township.code}/",
        f"/deliberation/{community.code}/",
        f"/disclosure/{community.code}/",
        "/open311/v2/discovery.json",
        "/open311/v2/services.json",
        "/open311/v2/services.xml",
        "/open311/v2/requests.json",
        "/open311/v2/requests.xml",
        f"/open311/v2/requests.json?service_request_id={','.join(codes)}",
        "/open311/v2/servicerequestupdates.json",
        "/open311/v2/servicerequestupdates.xml",
        "/my-data/",
    ]


def test_no_public_page_shows_the_cared_for_person(world, care_cases, building):
    client = Client()
    _key, key = create_key(name="fixmystreet", channel="fixmystreet.example")
    # Someone files a care matter through Open311 (its service list offers every category).
    care = open311_post(client, key, world, code="1103", description=f"{NAME}今天没报平安")
    codes = [*(c.tracking_code for c in care_cases), care]

    answers = {url: client.get(url) for url in public_pages(world, building, codes)}
    assert {url: a.status_code for url, a in answers.items() if a.status_code != 200} == {}
    for url, answer in answers.items():
        text = text_of(answer)
        for secret in (NAME, GIVEN, ADDRESS, "幸福路8号"):
            assert secret not in text, (url, secret)
    # GeoReport's single request: care is not there at all.
    for code in codes:
        assert client.get(f"/open311/v2/requests/{code}.json").status_code == 404
    # A carer given the tracking code of a care case reads what kind of case it is, not whom.
    track = text_of(answers[f"/track/{codes[0]}/"])
    assert '<h2 id="case-title">未按时报平安</h2>' in track


def test_only_public_categories_are_listed_or_counted(world, report, care_cases):
    client = Client()
    shown = resolved(world, report("北门路灯不亮", category="0201"))
    Category.objects.filter(code="0301").update(is_public=False)
    hidden = resolved(world, report("楼上漏水邻里纠纷", category="0301"))
    _key, key = create_key(name="fixmystreet", channel="fixmystreet.example")
    listed = open311_post(client, key, world, code="0201", description="解放路路灯不亮")
    private = open311_post(client, key, world, code="0301", description="楼上漏水邻里纠纷二")

    for cell in (world.grid_a1, world.county):
        page = text_of(client.get(f"/grids/{cell.code}/"))
        assert shown.title in page and shown.category.name in page
        assert hidden.title not in page
        # Neither care (three resolved) nor the private case counts.
        assert 'id="stat-resolved">1<' in page, cell
    for fmt in ("json", "xml"):
        requests = text_of(client.get(f"/open311/v2/requests.{fmt}"))
        assert listed in requests and private not in requests
    assert client.get(f"/open311/v2/requests/{private}.json").status_code == 404
    assert Case.objects.get(tracking_code=private).channel == Channel.OPEN311


def test_titles_raised_before_are_masked_by_the_migration(world, care_cases, grandma):
    from importlib import import_module

    from django.apps import apps

    missed, alarm, found = care_cases
    Case.objects.filter(pk=missed.pk).update(
        title=f"今日未报平安：{NAME}", description=f"经1位照护人询问，仍无人确认{NAME}平安。"
    )
    Case.objects.filter(pk=alarm.pk).update(title=f"紧急呼叫按钮：{ADDRESS}")
    migration = import_module("wangge.care.migrations.0002_mask_names_in_generated_titles")
    migration.mask_generated_titles(apps, None)

    missed.refresh_from_db(), alarm.refresh_from_db(), found.refresh_from_db()
    assert (missed.title, missed.description) == (
        "今日未报平安：张**",
        "经1位照护人询问，仍无人确认张**平安。",
    )
    assert (alarm.title, alarm.address) == ("紧急呼叫按钮：张**", f"{ADDRESS} 101")
    assert found.title == f"{NAME}家楼道灯坏了"  # a grid worker's own words are left alone
