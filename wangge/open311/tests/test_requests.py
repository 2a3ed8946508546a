"""POST requests creates an ordinary case; GET requests, requests/{id} and tokens/{token}
follow it through the loop, in XML and JSON, without personal data."""

from datetime import timedelta

import pytest
from django.utils import timezone

from wangge.cases.actions import accept_case, rate_case, report_case, resolve_case
from wangge.cases.models import Case, CaseState, Channel, EventKind
from wangge.open311.models import Open311Submission
from wangge.open311.queries import w3c
from wangge.open311.tests.conftest import PERSONAL, body, tree, xml
from wangge.world import centre_of

REQUEST_ELEMENTS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]


def test_post_creates_a_located_dispatched_case_and_answers_its_id(new_request, world):
    response = new_request("xml")

    assert response.status_code == 201
    case = Case.objects.get()
    submission = Open311Submission.objects.get()
    assert tree(xml(response)) == (
        "service_requests",
        [
            (
                "request",
                [
                    ("service_request_id", case.tracking_code),
                    ("service_notice", ""),
                    ("account_id", "acct-991"),
                ],
            )
        ],
    )
    assert (case.channel, case.external_ref, case.state) == (
        Channel.OPEN311,
        "fixmystreet.example",
        CaseState.DISPATCHED,
    )
    # located in a micro-grid of A1 (the point is A1's centre)
    assert (case.cell.parent, case.location_flag, case.category, case.unit) == (
        world.grid_a1,
        "ok",
        world.category("0201"),
        world.unit("urban"),
    )
    assert (case.title, case.description, case.address) == (
        "路灯不亮，晚上很黑",
        "路灯不亮，晚上很黑",
        "解放路12号",
    )
    assert (case.reporter_name, case.reporter_phone) == ("秀英 李", "13812345678")
    assert (submission.email, submission.device_id, submission.attributes) == (
        "li.xiuying@example.cn",
        "device-7f3a",
        {"pole": "A-017", "fault": "dark"},
    )
    assert [e.kind for e in case.events.all()] == [EventKind.REPORT, EventKind.DISPATCH]


def test_post_in_json_answers_a_json_list(new_request):
    response = new_request("json", account_id="")

    case = Case.objects.get()
    assert response.status_code == 201
    assert body(response) == [
        {
            "service_request_id": case.tracking_code,
            "service_notice": "",
            "account_id": None,
        }
    ]


def test_token_gives_the_request_id(new_request, o311):
    new_request()
    case = Case.objects.get()
    token = case.open311.token

    as_xml = o311.get(f"tokens/{token}.xml")
    as_json = o311.get(f"tokens/{token}.json")

    assert tree(xml(as_xml)) == (
        "service_requests",
        [("request", [("service_request_id", case.tracking_code), ("token", token)])],
    )
    assert body(as_json) == [{"service_request_id": case.tracking_code, "token": token}]


def _expected(case, status, notes):
    return {
        "service_request_id": case.tracking_code,
        "status": status,
        "status_notes": notes,
        "service_name": "路灯损坏",
        "service_code": "0201",
        "description": "路灯不亮，晚上很黑",
        "agency_responsible": "县城市管理局",
        "service_notice": "",
        "requested_datetime": w3c(case.reported_at),
        "updated_datetime": w3c(case.updated_at),
        "expected_datetime": w3c(case.due_at),
        "address": "解放路12号",
        "address_id": "",
        "zipcode": "",
        "lat": case.lat,
        "long": case.lon,
        "media_url": "https://photos.example.cn/1.jpg",
    }


def test_status_follows_the_case_through_the_loop(new_request, o311, world):
    new_request()
    case = Case.objects.get()
    seen = []

    def look():
        case.refresh_from_db()
        row = body(o311.get(f"requests/{case.tracking_code}.json"))
        assert row == [_expected(case, row[0]["status"], row[0]["status_notes"])]
        seen.append((row[0]["status"], row[0]["status_notes"]))

    look()
    accept_case(case, actor=world.urban_handler)
    look()
    resolve_case(case, outcome="solved", note="已更换灯泡", actor=world.urban_handler)
    look()
    rate_case(case, satisfaction="satisfied", comment="", actor=world.dispatcher)
    look()

    assert seen == [
        ("open", "已派单"),
        ("open", "已接单"),
        ("closed", "已办结"),
        ("closed", "已评价"),
    ]
    assert w3c(case.reported_at).endswith("+08:00")


def test_one_request_in_xml_has_every_element_in_order(new_request, o311):
    new_request()
    case = Case.objects.get()

    root = xml(o311.get(f"requests/{case.tracking_code}.xml"))

    (request,) = root
    assert (root.tag, request.tag) == ("service_requests", "request")
    assert [e.tag for e in request] == REQUEST_ELEMENTS
    expected = _expected(case, "open", "已派单")
    assert {e.tag: e.text or "" for e in request} == {
        k: "" if v is None else str(v) for k, v in expected.items()
    }


def test_list_filters_by_id_code_status_and_dates(new_request, o311, world, api_key):
    new_request(description="第一盏")
    new_request(description="第二盏")
    first, second = Case.objects.order_by("id")
    resolve_case(accept_case(second, actor=world.urban_handler), outcome="solved", note="好",
                 actor=world.urban_handler)  # fmt: skip
    lon, lat = centre_of(world.grid_a1)
    old = o311.post(
        "requests.json",
        {"api_key": api_key, "service_code": "0202", "lat": lat, "long": lon, "pole": "x"},
    )
    assert old.status_code == 201
    Case.objects.filter(category__code="0202").update(
        reported_at=timezone.now() - timedelta(days=100)
    )

    def ids(**params):
        return [r["service_request_id"] for r in body(o311.get("requests.json", **params))]

    assert ids() == [second.tracking_code, first.tracking_code]
    assert ids(status="open") == [first.tracking_code]
    assert ids(status="closed") == [second.tracking_code]
    assert ids(status="open,closed") == [second.tracking_code, first.tracking_code]
    assert ids(service_code="0202") == []
    old_case = Case.objects.get(category__code="0202")
    start = w3c(old_case.reported_at - timedelta(days=1))
    assert ids(service_code="0202,0201", start_date=start) == [old_case.tracking_code]
    assert ids(service_request_id=f"{old_case.tracking_code},{first.tracking_code}") == [
        first.tracking_code,
        old_case.tracking_code,
    ]
    assert ids(end_date="2000-01-01T00:00:00Z") == []


def test_list_in_xml_names_each_request(new_request, o311):
    new_request()
    new_request()

    root = xml(o311.get("requests.xml"))

    assert [e.tag for e in root] == ["request", "request"]
    assert [[c.tag for c in e] for e in root] == [REQUEST_ELEMENTS, REQUEST_ELEMENTS]


def test_cases_from_other_channels_are_not_listed(report, o311):
    case = report(category="0201", reporter_name="王五", reporter_phone="13900001111")

    assert body(o311.get("requests.json")) == []
    assert o311.get(f"requests/{case.tracking_code}.json").status_code == 404


def test_get_never_returns_personal_data(new_request, o311, world):
    new_request()
    case = Case.objects.get()
    accept_case(case, actor=world.urban_handler)
    token = case.open311.token
    pages = [
        o311.get(f"requests.{fmt}") for fmt in ("xml", "json")
    ] + [
        o311.get(f"requests/{case.tracking_code}.{fmt}") for fmt in ("xml", "json")
    ] + [
        o311.get(f"servicerequestupdates.{fmt}") for fmt in ("xml", "json")
    ] + [o311.get(f"tokens/{token}.{fmt}") for fmt in ("xml", "json")]  # fmt: skip

    assert [p.status_code for p in pages] == [200] * 8
    for page in pages:
        text = page.content.decode("utf-8")
        assert case.tracking_code in text
        for value in [*PERSONAL.values(), "*******5678", "5678", "秀英 李"]:
            assert value not in text


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_chinese_and_markup_round_trip_exactly(new_request, o311, fmt):
    text = '路灯不亮 <b>危险</b> & "引号" \'; DROP TABLE cases_case; -- 😀 ①'
    new_request(description=text, address_string="睢县<解放路>&12号")
    case = Case.objects.get()

    response = o311.get(f"requests/{case.tracking_code}.{fmt}")

    if fmt == "xml":
        assert b"<b>" not in response.content
        assert "&lt;b&gt;危险&lt;/b&gt; &amp;".encode() in response.content
        request = xml(response)[0]
        got = (request.find("description").text, request.find("address").text)
    else:
        got = (body(response)[0]["description"], body(response)[0]["address"])
    assert got == (text, "睢县<解放路>&12号")
    assert case.description == text


def test_report_case_from_code_is_not_an_open311_submission(world):
    # A case reported on the open311 channel by other code (the pull client) lists too.
    lon, lat = centre_of(world.grid_a1)
    case, _ = report_case(
        channel=Channel.OPEN311, title="t", actor=None, lon=lon, lat=lat,
        category=world.category("0201"),
    )  # fmt: skip
    from wangge.open311.queries import listed_requests, request_row

    row = request_row(listed_requests().get(pk=case.pk))
    assert (row["status"], row["media_url"], row["address_id"]) == ("open", "", "")


def test_list_reads_in_two_queries_however_many_requests(
    new_request, o311, django_assert_num_queries
):
    for n in range(3):
        new_request(description=f"第{n}盏")

    with django_assert_num_queries(2):  # the cases with their joins, then their public events
        rows = body(o311.get("requests.json"))

    assert [r["description"] for r in rows] == ["第2盏", "第1盏", "第0盏"]
