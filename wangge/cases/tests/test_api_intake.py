"""The JSON API end to end: intake from every channel through the whole loop, idempotent
retries, authentication, permission and scope, and refusals that store nothing."""

import json

import pytest
from django.test import Client

from wangge.accounts.models import ApiToken
from wangge.cases.models import Case, CaseEvent
from wangge.dispatch.models import DispatchRecommendation
from wangge.world import centre_of


def api(user, **extra) -> Client:
    _, raw = ApiToken.issue(user, "test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}", **extra)


def post(client, path, body=None, **headers):
    return client.post(
        f"/api/v1/cases{path}", json.dumps(body or {}), content_type="application/json", **headers
    )


def intake(world, **fields):
    lon, lat = centre_of(world.grid_a1)
    return {"title": "小区路灯不亮", "channel": "web", "lon": lon, "lat": lat, **fields}


# channel, reporter, category, who handles it, where the rules send it
CHANNELS = [
    ("hotline", "dispatcher", "0201", "urban_handler", ("urban", None)),
    ("web", "dispatcher", "0201", "urban_handler", ("urban", None)),
    ("qr", "dispatcher", "0302", "grid_worker_a1", (None, "grid_worker_a1")),
    ("patrol", "grid_worker_a1", "0301", "grid_worker_a1", (None, "grid_worker_a1")),
    ("sensor", "dispatcher", "0401", "water_handler", ("water", None)),
    ("import", "dispatcher", "0201", "urban_handler", ("urban", None)),
]


@pytest.mark.parametrize(("channel", "reporter", "category", "handler", "routed"), CHANNELS)
def test_every_channel_runs_the_whole_loop_through_the_api(
    world, channel, reporter, category, handler, routed
):
    body = intake(
        world,
        channel=channel,
        category=category,
        reporter_phone="13812341234",
        external_ref="T-1" if channel == "import" else "",
    )
    if channel == "qr":  # the QR code on the grid's board names the grid; no coordinates
        body.pop("lon"), body.pop("lat")
        body["cell"] = world.grid_a1.code
    r = post(api(getattr(world, reporter)), "", body)
    assert r.status_code == 201, r.content
    case = r.json()
    unit_code, assignee = routed
    assert (case["state"], case["channel"], case["reporter_phone"]) == (
        "dispatched",
        channel,
        "*******1234",
    )
    assert ((case["unit"] or {}).get("code"), (case["assignee"] or {}).get("id")) == (
        unit_code,
        getattr(world, assignee).pk if assignee else None,
    )
    assert case["cell"]["code"].startswith(world.grid_a1.code)

    worker, dispatcher = api(getattr(world, handler)), api(world.dispatcher)
    path = f"/{case['id']}"
    steps = [
        (worker, "/accept", {}, "accepted"),
        (worker, "/start", {}, "in_progress"),
        (worker, "/resolve", {"outcome": "solved", "note": "已更换灯泡"}, "resolved"),
        (dispatcher, "/rate", {"satisfaction": "satisfied"}, "rated"),
        (dispatcher, "/close", {}, "closed"),
    ]
    for client, action, payload, state in steps:
        r = post(client, path + action, payload)
        assert (action, r.status_code, r.json()["state"]) == (action, 200, state)
    done = dispatcher.get(f"/api/v1/cases{path}").json()
    assert [e["kind"] for e in done["events"]] == [
        "report",
        "dispatch",
        "accept",
        "start",
        "resolve",
        "rate",
        "close",
    ]
    assert done["events"][1]["actor_name"] == "系统(dispatch-rules)"
    assert (done["outcome"], done["satisfaction"]) == ("solved", "satisfied")


def test_a_retry_with_the_same_idempotency_key_returns_the_same_case_with_200(world):
    client = api(world.dispatcher)
    first = post(client, "", intake(world, category="0201"), HTTP_IDEMPOTENCY_KEY="h5-7f3a")
    again = post(
        client, "", intake(world, title="重发", category="0201"), HTTP_IDEMPOTENCY_KEY="h5-7f3a"
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert (again.json()["id"], again.json()["title"]) == (first.json()["id"], "小区路灯不亮")
    case = Case.objects.get(idempotency_key="h5-7f3a")
    assert [e.kind for e in case.events.all()] == ["report", "dispatch"]
    assert DispatchRecommendation.objects.filter(case=case).count() == 1


def test_an_import_retry_is_recognised_by_its_source_ticket_number(world):
    client = api(world.dispatcher)
    first = post(client, "", intake(world, channel="import", external_ref="12345-0001"))
    again = post(client, "", intake(world, channel="import", external_ref="12345-0001"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert Case.objects.filter(external_ref="12345-0001").count() == 1


def test_without_a_token_the_api_answers_401_in_json(world):
    for client in (Client(), Client(HTTP_AUTHORIZATION="Bearer wg_not-a-token")):
        r = client.get("/api/v1/cases")
        assert (r.status_code, r.json()["code"], r.json()["message"]) == (
            401,
            "unauthenticated",
            "请先登录。",
        )


def test_a_revoked_token_no_longer_works(world):
    token, raw = ApiToken.issue(world.dispatcher)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/cases").status_code == 200
    token.revoke()
    assert client.get("/api/v1/cases").status_code == 401


def test_a_role_without_the_permission_gets_403_and_nothing_changes(world):
    case = post(api(world.dispatcher), "", intake(world)).json()  # no category: stays new
    r = post(api(world.supervisor), f"/{case['id']}/dispatch", {"unit_id": world.unit("urban").pk})
    assert (r.status_code, r.json()["code"], r.json()["message"]) == (
        403,
        "forbidden",
        "您的角色无权进行此操作。",
    )
    r = post(api(world.supervisor), "", intake(world), HTTP_ACCEPT_LANGUAGE="en")
    assert (r.status_code, r.json()["message"]) == (403, "Your role does not allow this.")
    stored = Case.objects.get(pk=case["id"])
    assert (stored.state, stored.unit, Case.objects.count()) == ("new", None, 1)
    assert [e.kind for e in stored.events.all()] == ["report"]


def test_a_case_of_another_township_answers_404_like_a_missing_one(world):
    case = post(api(world.dispatcher), "", intake(world, category="0301")).json()  # grid A1
    outsider = api(world.grid_worker_b1)
    hidden = outsider.get(f"/api/v1/cases/{case['id']}")
    missing = outsider.get("/api/v1/cases/999999")
    assert (hidden.status_code, hidden.json()) == (missing.status_code, missing.json())
    assert (hidden.status_code, hidden.json()["code"]) == (404, "not_found")
    r = post(outsider, f"/{case['id']}/accept")
    assert r.status_code == 404
    assert Case.objects.get(pk=case["id"]).state == "dispatched"
    assert outsider.get("/api/v1/cases").json() == {"items": [], "count": 0}


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"title": None, "channel": None}, {"title", "channel"}),  # missing
        ({"lon": 200.0, "lat": 34.4}, {"lon", "lat"}),  # not on Earth
        ({"lat": None}, {"lat"}),  # half a coordinate
        ({"lon": "东经115度"}, {"lon"}),
        ({"category": "9999"}, {"category"}),
        ({"channel": "fax"}, {"channel"}),
        ({"cell": "000"}, {"cell"}),
        ({"reporter_phone": "call me"}, {"reporter_phone"}),
        ({"colour": "red"}, {"colour"}),  # unknown field
    ],
)
def test_bad_input_is_refused_with_the_fields_named_and_nothing_stored(world, change, fields):
    body = {k: v for k, v in {**intake(world), **change}.items() if v is not None}
    cases, events = Case.objects.count(), CaseEvent.objects.count()
    r = post(api(world.dispatcher), "", body)
    assert (r.status_code, r.json()["code"], set(r.json()["fields"])) == (400, "invalid", fields)
    assert (Case.objects.count(), CaseEvent.objects.count()) == (cases, events)


def test_errors_are_chinese_by_default_and_english_on_request(world):
    client = api(world.dispatcher)
    zh = post(client, "", {})
    en = post(client, "", {}, HTTP_ACCEPT_LANGUAGE="en")
    assert (zh.json()["message"], zh.json()["fields"]["title"]) == (
        "部分字段填写有误。",
        "这个字段是必填项。",
    )
    assert en.json() == {
        "code": "invalid",
        "message": "Some fields are not valid.",
        "fields": {"title": "This field is required.", "channel": "This field is required."},
    }


def test_a_10_mb_body_answers_413_in_json_and_stores_nothing(world):
    cases = Case.objects.count()
    big = json.dumps({**intake(world), "description": "x" * (10 * 1024 * 1024)})
    r = api(world.dispatcher).post(
        "/api/v1/cases", big, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert (r.status_code, r["Content-Type"]) == (413, "application/json; charset=utf-8")
    assert r.json() == {
        "code": "too_large",
        "message": "The request body is too large.",
        "fields": {},
    }
    assert Case.objects.count() == cases


def test_a_body_that_is_not_utf8_or_not_json_is_a_clear_400(world):
    cases, events = Case.objects.count(), CaseEvent.objects.count()
    client = api(world.dispatcher, HTTP_ACCEPT_LANGUAGE="en")
    latin = '{"title": "caf\xe9", "channel": "web"}'.encode("latin-1")
    r = client.post("/api/v1/cases", latin, content_type="application/json")
    assert (r.status_code, r.json()["code"], r.json()["message"]) == (
        400,
        "bad_encoding",
        "The request body is not valid UTF-8.",
    )
    r = client.post("/api/v1/cases", b'{"title": ', content_type="application/json")
    assert (r.status_code, r.json()["code"]) == (400, "bad_json")
    r = client.post("/api/v1/cases", b"[1, 2]", content_type="application/json")
    assert (r.status_code, r.json()["fields"]) == (
        400,
        {"body": "The request body must be a JSON object."},
    )
    assert (Case.objects.count(), CaseEvent.objects.count()) == (cases, events)
