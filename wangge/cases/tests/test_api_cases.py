"""The case API after intake: filters, the timeline, manual and joint dispatch, every move,
personal data, attachments, and the web session with its CSRF check."""

import json
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.utils import timezone

from wangge.accounts.models import ApiToken
from wangge.audit.models import PersonalDataAccess
from wangge.cases.actions import dispatch_case, report_case
from wangge.cases.models import Attachment, Case, Channel
from wangge.dispatch.models import DispatchRecommendation, LabelledExample
from wangge.lib.tests.photos import phone_photo


def api(user) -> Client:
    _, raw = ApiToken.issue(user, "test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def post(client, path, body=None, **headers):
    return client.post(
        f"/api/v1/cases{path}", json.dumps(body or {}), content_type="application/json", **headers
    )


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return sorted(c["id"] for c in response.json()["items"])


def test_filters_by_state_colour_grid_channel_category_and_date(world, report):
    now = timezone.now()
    green = report("路灯不亮", category="0201")
    dispatch_case(green, actor=world.dispatcher, unit=world.unit("urban"))
    yellow = report("垃圾未清运", category="0202", channel=Channel.HOTLINE)
    dispatch_case(
        yellow,
        actor=world.dispatcher,
        unit=world.unit("urban"),
        now=now - timedelta(days=10),
        due_at=now + timedelta(days=1),
    )
    red = report("占道经营", category="0203")
    dispatch_case(
        red, actor=world.dispatcher, unit=world.unit("urban"), now=now - timedelta(days=30)
    )
    new_b = report("道路破损", cell=world.grid_b1, category="0601")
    old, _ = report_case(
        channel=Channel.WEB,
        title="去年的事",
        actor=None,
        cell=world.grid_b1,
        now=now - timedelta(days=400),
    )
    client = api(world.dispatcher)
    q = "/api/v1/cases?"
    assert ids(client.get(q + "colour=green")) == [green.pk]
    assert ids(client.get(q + "colour=yellow")) == [yellow.pk]
    assert ids(client.get(q + "colour=red")) == [red.pk]
    assert ids(client.get(q + "state=new")) == sorted([new_b.pk, old.pk])
    assert ids(client.get(q + f"grid={world.grid_a1.code}")) == sorted(
        [green.pk, yellow.pk, red.pk]
    )
    assert ids(client.get(q + f"grid={world.townships[1].pk}")) == sorted([new_b.pk, old.pk])
    assert ids(client.get(q + "channel=hotline")) == [yellow.pk]
    assert ids(client.get(q + "category=02")) == sorted([green.pk, yellow.pk, red.pk])
    assert ids(client.get(q + f"unit={world.unit('urban').pk}&colour=red")) == [red.pk]
    old_day = timezone.localdate(old.reported_at)
    assert ids(client.get(q + f"reported_from={old_day}&reported_to={old_day}")) == [old.pk]
    assert ids(client.get(q + f"reported_from={timezone.localdate(now)}")) == sorted(
        [green.pk, yellow.pk, red.pk, new_b.pk]
    )
    page = client.get(q + "page=2&page_size=2").json()
    assert (page["count"], len(page["items"])) == (5, 2)
    bad = client.get(q + "colour=purple&grid=nowhere")
    assert (bad.status_code, set(bad.json()["fields"])) == (400, {"colour"})


def test_a_grid_worker_lists_only_cases_in_their_grid(world, report):
    mine = report("楼道杂物", category="0302")
    report("别处的事", cell=world.grid_b1)
    assert ids(api(world.grid_worker_a1).get("/api/v1/cases")) == [mine.pk]


def test_the_detail_masks_the_phone_shows_staff_the_internal_timeline_and_reveal_is_logged(
    world, report
):
    case = report("噪音扰民", reporter_name="张三", reporter_phone="13812341234")
    client = api(world.dispatcher)
    refused = post(client, f"/{case.pk}/reveal-phone", {"purpose": " "})
    assert (refused.status_code, set(refused.json()["fields"])) == (400, {"purpose"})
    assert PersonalDataAccess.objects.count() == 0
    r = post(client, f"/{case.pk}/reveal-phone", {"purpose": "回访核实"})
    assert (r.status_code, r.json()) == (200, {"phone": "13812341234"})
    access = PersonalDataAccess.objects.get()
    assert (access.actor, access.field, access.purpose) == (
        world.dispatcher,
        "reporter_phone",
        "回访核实",
    )
    detail = client.get(f"/api/v1/cases/{case.pk}").json()
    assert (detail["reporter_name"], detail["reporter_phone"]) == ("张三", "*******1234")
    assert [(e["kind"], e["audience"]) for e in detail["events"]] == [
        ("report", "public"),
        ("reveal", "internal"),
    ]
    assert "13812341234" not in json.dumps(detail)


def test_a_handler_cannot_reveal_the_phone(world, report):
    case = report("噪音扰民", category="0201", reporter_phone="13812341234")
    dispatch_case(case, actor=world.dispatcher, unit=world.unit("urban"))
    r = post(api(world.urban_handler), f"/{case.pk}/reveal-phone", {"purpose": "想知道"})
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    assert PersonalDataAccess.objects.count() == 0


def test_manual_joint_dispatch_records_lead_helpers_and_the_choice(world, report):
    case = report("积水严重")  # no category: the rules suggest nothing
    client = api(world.dispatcher)
    bad = post(client, f"/{case.pk}/dispatch", {"unit_id": 999999})
    assert (bad.status_code, set(bad.json()["fields"])) == (400, {"unit_id"})
    r = post(
        client,
        f"/{case.pk}/dispatch",
        {
            "unit_id": world.unit("urban").pk,
            "helpers": [world.unit("water").pk],
            "note": "城管牵头，自来水配合",
            "version": case.version,
        },
    )
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["state"], body["unit"]["code"]) == ("dispatched", "urban")
    assert [(t["unit"]["code"], t["role"]) for t in body["tasks"]] == [
        ("urban", "lead"),
        ("water", "helper"),
    ]
    assert [e["kind"] for e in body["events"]] == ["report", "dispatch", "joint"]
    rec = DispatchRecommendation.objects.get(case=case)
    assert (rec.candidates, rec.chosen_unit, rec.chosen_by) == (
        [],
        world.unit("urban"),
        world.dispatcher,
    )


def test_a_stale_version_or_an_impossible_move_answers_409_and_changes_nothing(world, report):
    case = report("路灯不亮")
    client = api(world.dispatcher)
    stale = post(
        client,
        f"/{case.pk}/dispatch",
        {"unit_id": world.unit("urban").pk, "version": case.version - 1},
    )
    assert (stale.status_code, stale.json()["code"]) == (409, "changed_meanwhile")
    closed = post(client, f"/{case.pk}/rate", {"satisfaction": "satisfied"})
    assert (closed.status_code, closed.json()["code"]) == (409, "illegal_transition")
    case.refresh_from_db()
    assert (case.state, case.version, [e.kind for e in case.events.all()]) == ("new", 1, ["report"])


def test_return_pause_resume_escalate_reopen_and_supervise_through_the_api(world, report):
    case = report("楼道杂物", category="0302")
    dispatch_case(case, actor=world.dispatcher, assignee=world.grid_worker_a1)
    worker, dispatcher = api(world.grid_worker_a1), api(world.dispatcher)
    supervisor = api(world.supervisor)
    in_a_week = (timezone.now() + timedelta(days=7)).isoformat()
    steps = [
        (worker, "/return", {"reason": ""}, 400, "dispatched"),
        (worker, "/return", {"reason": "不属于网格事项"}, 200, "returned"),
        (dispatcher, "/dispatch", {"assignee_id": world.grid_worker_a1.pk}, 200, "dispatched"),
        (worker, "/accept", {}, 200, "accepted"),
        (worker, "/pause", {"reason": "等待物业答复"}, 200, "paused"),
        (worker, "/resume", {}, 200, "in_progress"),
        (worker, "/resolve", {"outcome": "solved", "note": "已清理"}, 200, "resolved"),
        (supervisor, "/reopen", {"reason": "群众反映未清理干净"}, 200, "reopened"),
        (supervisor, "/supervise", {"demand": "三日内办结", "due_at": in_a_week}, 200, "reopened"),
        (worker, "/accept", {}, 200, "accepted"),
        (worker, "/escalate", {"reason": "需街道协调"}, 200, "new"),
    ]
    for client, action, body, status, state in steps:
        r = post(client, f"/{case.pk}{action}", body)
        case.refresh_from_db()
        assert (action, r.status_code, case.state) == (action, status, state)
    assert [e.kind for e in case.events.all()] == [
        "report",
        "dispatch",
        "return",
        "dispatch",
        "accept",
        "pause",
        "resume",
        "resolve",
        "reopen",
        "supervise",
        "supervise",
        "accept",
        "escalate",
    ]
    assert (case.handling_cell, case.assignee) == (world.townships[0], None)


def test_attachments_are_stored_within_the_size_and_type_limits(world, report, settings):
    settings.WANGGE_ATTACHMENT_MAX_BYTES = 1024
    case = report("路灯不亮", category="0302")
    client = api(world.grid_worker_a1)
    url = f"/api/v1/cases/{case.pk}/attachments"
    png = phone_photo(size=(4, 4), fmt="PNG")
    photo = SimpleUploadedFile("现场.png", png, content_type="image/png")
    r = client.post(url, {"file": photo, "public": "true"})
    assert (r.status_code, r.json()["original_name"], r.json()["is_public"]) == (
        201,
        "现场.png",
        True,
    )
    big = SimpleUploadedFile("big.png", b"0" * 2048, content_type="image/png")
    text = SimpleUploadedFile("a.txt", b"hello", content_type="text/plain")
    r_big = client.post(url, {"file": big})
    r_text = client.post(url, {"file": text})
    r_none = client.post(url, {})
    assert (r_big.status_code, r_big.json()["code"]) == (413, "too_large")
    assert (r_text.status_code, set(r_text.json()["fields"])) == (400, {"file"})
    assert (r_none.status_code, set(r_none.json()["fields"])) == (400, {"file"})
    assert [a.original_name for a in Attachment.objects.filter(case=case)] == ["现场.png"]


def test_a_photo_sent_again_after_a_lost_signal_is_stored_once(world, report):
    case = report("路灯不亮", category="0302")
    client = api(world.grid_worker_a1)
    url = f"/api/v1/cases/{case.pk}/attachments"

    def send():
        photo = SimpleUploadedFile("现场.jpg", phone_photo(), content_type="image/jpeg")
        return client.post(url, {"file": photo}, HTTP_IDEMPOTENCY_KEY="photo-7f3a")

    first, again = send(), send()
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Attachment.objects.filter(case=case).count() == 1


def test_the_web_session_works_and_must_pass_the_csrf_check_to_write(world, report):
    case = report("路灯不亮")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.dispatcher)
    assert ids(browser.get("/api/v1/cases")) == [case.pk]
    body = json.dumps({"unit_id": world.unit("urban").pk})
    r = browser.post(f"/api/v1/cases/{case.pk}/dispatch", body, content_type="application/json")
    assert (r.status_code, r.json()["code"]) == (403, "csrf")
    assert Case.objects.get(pk=case.pk).state == "new"
    secret = _get_new_csrf_string()
    browser.cookies["csrftoken"] = secret
    r = browser.post(
        f"/api/v1/cases/{case.pk}/dispatch",
        body,
        content_type="application/json",
        HTTP_X_CSRFTOKEN=secret,
    )
    assert (r.status_code, r.json()["state"]) == (200, "dispatched")


def test_openapi_docs_list_the_paths_integrations_rely_on(world):
    schema = Client().get("/api/openapi.json").json()
    assert {
        "/api/v1/cases",
        "/api/v1/cases/{case_id}",
        "/api/v1/cases/{case_id}/dispatch",
        "/api/v1/cases/{case_id}/reveal-phone",
        "/api/v1/cases/{case_id}/attachments",
    } <= set(schema["paths"])
    assert Client().get("/api/docs").status_code == 200


def test_a_dispatcher_corrects_the_category_and_the_correction_is_kept_for_training(world, report):
    case = report("小区停水三天了", category="0201")  # the operator picked 路灯 by mistake
    r = post(
        api(world.dispatcher),
        f"/{case.pk}/dispatch",
        {"unit_id": world.unit("water").pk, "category": "0401", "version": case.version},
    )
    assert r.status_code == 200, r.content
    case.refresh_from_db()
    assert (case.category.code, case.unit, case.state) == (
        "0401",
        world.unit("water"),
        "dispatched",
    )
    example = LabelledExample.objects.get(case=case)
    assert (example.label, example.source) == ("0401", "correction")


def test_an_unknown_category_in_a_dispatch_is_refused_and_changes_nothing(world, report):
    case = report("小区停水", category="0401")
    r = post(
        api(world.dispatcher),
        f"/{case.pk}/dispatch",
        {"unit_id": world.unit("water").pk, "category": "9999", "version": case.version},
    )
    case.refresh_from_db()
    assert (r.status_code, set(r.json()["fields"])) == (400, {"category"})
    assert (case.state, case.category.code, LabelledExample.objects.count()) == ("new", "0401", 0)
