"""Staff pages and the JSON API: only those who manage the village may record; the next step is
the only one accepted; refusals come back with the reason; published items stay as they are."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from wangge.accounts.models import ApiToken
from wangge.deliberation.models import DisclosureItem, Matter
from wangge.deliberation.tests.conftest import record
from wangge.deliberation.tests.test_disclosure import LINES, finance


def _login(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def _api(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {ApiToken.issue(user)[1]}", HTTP_ACCEPT_LANGUAGE="en")


def _post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def test_home_needs_the_permission(world, village):
    assert Client().get(reverse("deliberation_home")).status_code == 302  # to the login
    assert _login(world.resident).get(reverse("deliberation_home")).status_code == 403
    page = _login(world.secretary_a).get(reverse("deliberation_home"))
    assert page.status_code == 200
    assert village.name in page.content.decode()


def test_a_grid_worker_keeps_the_records_of_their_village_but_not_of_another(world, matter):
    assert (
        _login(world.grid_worker_a1)
        .get(reverse("deliberation_matter", args=[matter.pk]))
        .status_code
        == 200
    )
    assert (
        _login(world.grid_worker_b1)
        .get(reverse("deliberation_matter", args=[matter.pk]))
        .status_code
        == 404
    )


def test_the_page_records_the_next_step_and_refuses_a_skipped_one(world, matter):
    client = _login(world.secretary_a)
    url = reverse("deliberation_matter", args=[matter.pk])
    step = {
        "version": 1,
        "held_on": "2025-03-03",
        "expected": 5,
        "present": 4,
        "minutes": "一致同意",
    }
    r = client.post(url, {**step, "kind": "propose"})
    assert r.status_code == 302
    r = client.post(url, {**step, "version": 2, "kind": "review", "votes_for": 4})
    assert r.status_code == 409
    assert "the next step is “Two committees&#x27; discussion”" in r.content.decode()
    matter.refresh_from_db()
    assert (matter.state, list(matter.steps.values_list("kind", flat=True))) == (
        "proposed",
        ["propose"],
    )
    page = client.get(url).content.decode()
    assert "Record: Two committees&#x27; discussion" in page


def test_a_courtyard_meeting_is_recorded_with_its_follow_up_case(world, village, report):
    case = report("楼道堆放杂物")
    client = _login(world.grid_worker_a1)
    r = client.post(
        reverse("deliberation_meeting_new"),
        {
            "village": village.code,
            "cell": world.grid_a1.code,
            "held_on": "2025-03-03",
            "topic": "楼道堆物怎么清",
            "participant_count": "7",
            "outcome": "周六集中清理",
            "case": case.tracking_code,
        },
    )
    assert r.status_code == 302
    r = client.get(r["Location"])
    assert "楼道堆物怎么清" in r.content.decode()
    assert case.tracking_code in r.content.decode()


def test_the_api_walks_a_matter_and_answers_409_for_a_repeated_step(world, village):
    api = _api(world.secretary_a)
    r = _post(api, "/api/v1/deliberation/matters", {"village": village.code, "title": "村道"})
    assert r.status_code == 201
    matter = r.json()
    assert (matter["state"], matter["next_step"], matter["version"]) == ("new", "propose", 1)
    body = {"held_on": "2025-03-03", "expected": 5, "present": 5, "minutes": "同意"}
    url = f"/api/v1/deliberation/matters/{matter['id']}/steps"
    r = _post(api, url, {**body, "kind": "propose", "version": 1})
    assert (r.status_code, r.json()["state"], r.json()["version"]) == (200, "proposed", 2)
    r = _post(api, url, {**body, "kind": "propose", "version": 2})
    assert (r.status_code, r.json()["code"]) == (409, "illegal_transition")
    assert r.json()["message"] == "“Party branch proposal” has already been recorded."
    r = _post(api, url, {**body, "kind": "discuss", "version": 1})
    assert (r.status_code, r.json()["code"]) == (409, "changed_meanwhile")
    assert Matter.objects.get(pk=matter["id"]).steps.count() == 1
    other = _api(world.grid_worker_b1)
    assert other.get(f"/api/v1/deliberation/matters/{matter['id']}").status_code == 404


def test_the_api_refuses_finance_that_does_not_add_up_and_edits_of_published_items(world, village):
    api = _api(world.secretary_a)
    body = {
        "village": village.code,
        "kind": "finance",
        "period": "2025-Q1",
        "title": "一季度财务",
        "opening_balance": "10000.00",
        "total_income": "62000.50",
        "total_expense": "32000.50",
        "closing_balance": "40000.01",
        "lines": LINES,
    }
    r = _post(api, "/api/v1/deliberation/disclosures", body)
    assert r.status_code == 400
    assert r.json()["fields"] == {
        "closing_balance": "Opening balance 10000.00 + income 62000.50 − expense 32000.50 = "
        "40000.00, but the closing balance is 40000.01 (difference 0.01)."
    }
    assert DisclosureItem.objects.count() == 0
    r = _post(api, "/api/v1/deliberation/disclosures", {**body, "closing_balance": "40000.00"})
    assert r.status_code == 201
    item = r.json()
    r = _post(api, f"/api/v1/deliberation/disclosures/{item['id']}/publish", {"version": 1})
    assert (r.status_code, r.json()["published_by"]) == (200, "凤城西社区书记")
    r = api.put(
        f"/api/v1/deliberation/disclosures/{item['id']}",
        json.dumps({**body, "version": 2, "title": "改过的标题", "closing_balance": "40000.00"}),
        content_type="application/json",
    )
    assert (r.status_code, r.json()["code"]) == (409, "conflict")
    assert DisclosureItem.objects.get(pk=item["id"]).title == "一季度财务"
    r = _post(api, f"/api/v1/deliberation/disclosures/{item['id']}/correct", {})
    assert (r.status_code, r.json()["supersedes_id"], r.json()["published_at"]) == (
        201,
        item["id"],
        None,
    )


def test_the_disclosure_page_publishes_a_draft_and_then_offers_only_a_correction(world, village):
    item = finance(village, world.secretary_a)
    client = _login(world.secretary_a)
    url = reverse("deliberation_disclosure", args=[item.pk])
    r = client.post(reverse("deliberation_disclosure_publish", args=[item.pk]), {"version": 1})
    assert r.status_code == 302
    page = client.get(url).content.decode()
    assert "A published item cannot be changed." in page
    assert "Write a correction" in page and "Save the draft" not in page
    r = client.post(url, {"version": 2, "kind": "finance", "period": "2025-Q1", "title": "改"})
    assert r.status_code == 409
    assert DisclosureItem.objects.get(pk=item.pk).title == "2025年第一季度财务收支"


@pytest.mark.parametrize("lines", ["上级转移支付 50000.00\n集体资产租赁 12000.50"])
def test_the_page_reads_finance_lines_one_per_line(world, village, lines):
    client = _login(world.secretary_a)
    r = client.post(
        reverse("deliberation_disclosure_new"),
        {
            "village": village.code,
            "kind": "finance",
            "period": "2025-Q1",
            "title": "一季度",
            "opening_balance": "0",
            "income_lines": lines,
            "total_income": "62000.50",
            "expense_lines": "",
            "total_expense": "0",
            "closing_balance": "62000.00",
        },
    )
    assert r.status_code == 400
    assert "(difference -0.50)" in r.content.decode()
    assert DisclosureItem.objects.count() == 0


def test_a_failed_vote_on_the_page_offers_the_next_round(world, matter):
    for kind in ("propose", "discuss"):
        record(matter, kind, world.secretary_a)
    record(matter, "review", world.secretary_a, votes_for=10, votes_against=20, votes_abstain=1)
    client = _login(world.secretary_a)
    r = client.post(reverse("deliberation_repropose", args=[matter.pk]))
    assert r.status_code == 302
    second = Matter.objects.get(previous=matter)
    assert r["Location"] == reverse("deliberation_matter", args=[second.pk])
    assert client.post(reverse("deliberation_repropose", args=[matter.pk])).status_code == 409
