"""The time bank over JSON: a secretary lists accounts and statements, organises a task and
confirms it, approves a claim once, and records a redemption that a retry does not repeat;
another community's members answer 404 and a role without MANAGE_COMMUNITY gets 403."""

import json

from django.test import Client

from wangge.accounts.models import ApiToken
from wangge.timebank import actions
from wangge.timebank.models import CatalogueItem, Ledger, Redemption, Transfer
from wangge.timebank.tests.conftest import give_points


def api(user) -> Client:
    _, raw = ApiToken.issue(user)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def post(client, path, body=None, **headers):
    return client.post(path, json.dumps(body or {}), content_type="application/json", **headers)


def test_a_secretary_confirms_a_task_and_reads_the_volunteers_statement(bank):
    client = api(bank.secretary)
    r = post(
        client,
        "/api/v1/timebank/tasks",
        {"title": "帮独居老人买菜", "hours": "1.5", "volunteer_ids": [bank.ana.pk, bank.bo.pk]},
    )
    assert (r.status_code, r.json()["state"], r.json()["community"]) == (
        201,
        "open",
        bank.community.code,
    )
    task_id = r.json()["id"]
    confirmed = post(client, f"/api/v1/timebank/tasks/{task_id}/confirm")
    again = post(client, f"/api/v1/timebank/tasks/{task_id}/confirm")
    assert (confirmed.status_code, confirmed.json()["state"], again.status_code) == (
        200,
        "done",
        409,
    )

    accounts = client.get("/api/v1/timebank/accounts?ledger=hours").json()
    balances = {a["member"] or a["kind"]: float(a["balance"]) for a in accounts}
    assert balances == {"pool": -3.0, "王安娜": 1.5, "李博": 1.5, "陈晨": 0.0}
    ana = next(a for a in accounts if a["member"] == "王安娜")
    s = client.get(f"/api/v1/timebank/accounts/{ana['id']}/statement").json()
    assert [(row["memo"], float(row["amount"]), float(row["balance"])) for row in s["rows"]] == [
        ("帮独居老人买菜", 1.5, 1.5)
    ]
    members = client.get("/api/v1/timebank/members").json()
    assert {m["name"]: m["phone"] for m in members} == {
        "王安娜": "*******1111",
        "李博": "*******2222",
        "陈晨": "",
    }


def test_a_claim_is_approved_once_over_the_api(bank):
    client = api(bank.secretary)
    r = post(
        client,
        "/api/v1/timebank/claims",
        {"member_id": bank.ana.pk, "rule_id": bank.rule.pk, "done_on": "2025-03-03"},
    )
    assert (r.status_code, r.json()["state"]) == (201, "pending")
    approve = f"/api/v1/timebank/claims/{r.json()['id']}/approve"
    first, second = post(client, approve), post(client, approve)
    assert (first.status_code, first.json()["points"]) == (200, 10)
    assert (second.status_code, second.json()["code"]) == (409, "conflict")
    assert actions.account_of(bank.ana, Ledger.POINTS).balance == 10


def test_a_retried_redemption_is_done_once(bank):
    give_points(bank, bank.ana, 30)
    item = actions.add_item(bank.community, name="洗衣液", points=10, stock=5, actor=bank.secretary)
    client = api(bank.secretary)
    body = {"member_id": bank.ana.pk, "item_id": item.pk, "quantity": 2}
    first = post(client, "/api/v1/timebank/redemptions", body, HTTP_IDEMPOTENCY_KEY="r-42")
    again = post(client, "/api/v1/timebank/redemptions", body, HTTP_IDEMPOTENCY_KEY="r-42")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    item.refresh_from_db()
    assert (Redemption.objects.count(), item.stock) == (1, 3)
    assert actions.account_of(bank.ana, Ledger.POINTS).balance == 10
    too_many = post(client, "/api/v1/timebank/redemptions", {**body, "quantity": 3})
    assert (too_many.status_code, too_many.json()["code"]) == (409, "conflict")
    assert CatalogueItem.objects.get(pk=item.pk).stock == 3


def test_other_communities_answer_404_and_other_roles_403(bank, world):
    other = world.grid_b1.parent
    stranger = actions.enrol_member(other, name="赵六", actor=None)
    worker_b1 = api(world.grid_worker_b1)  # keeps the time bank of grid B1's community
    assert worker_b1.get("/api/v1/timebank/members").json()[0]["name"] == "赵六"
    r = post(
        worker_b1,
        "/api/v1/timebank/transfers",
        {"payer_id": bank.ana.pk, "payee_id": stranger.pk, "hours": "1"},
    )
    assert r.status_code == 404
    assert (
        worker_b1.get(f"/api/v1/timebank/members?community={bank.community.code}").status_code
        == 404
    )
    assert api(world.dispatcher).get("/api/v1/timebank/accounts").status_code == 403
    assert Transfer.objects.count() == 0
    # a grid worker of grid A1 keeps A1's community's bank
    names = [m["name"] for m in api(world.grid_worker_a1).get("/api/v1/timebank/members").json()]
    assert sorted(names) == sorted(["王安娜", "李博", "陈晨"])


def test_hours_convert_to_points_over_the_api(bank):
    actions.set_policy(bank.community, points_per_hour=10, actor=bank.secretary)
    actions.exchange_hours(bank.bo, bank.ana, hours="2", actor=bank.secretary)
    client = api(bank.secretary)
    r = post(client, f"/api/v1/timebank/members/{bank.ana.pk}/convert", {"hours": "1.5"})
    assert (r.status_code, [t["ledger"] for t in r.json()]) == (201, ["hours", "points"])
    assert (
        actions.account_of(bank.ana, Ledger.HOURS).balance,
        actions.account_of(bank.ana, Ledger.POINTS).balance,
    ) == (0.5, 15)
