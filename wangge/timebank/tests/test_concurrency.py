"""Ten redemptions at the same moment, over the API, each on its own connection: an item with
three in stock and a member with points for five. Exactly three succeed; the stock ends at zero,
the member's points at what three cost, and the ledger still balances."""

import json
import threading
from datetime import date

import pytest
from django.db import connection
from django.test import Client

from wangge.accounts.models import ApiToken
from wangge.timebank import actions
from wangge.timebank.models import Ledger, Redemption
from wangge.timebank.queries import reconcile, unbalanced_transfers
from wangge.world import build_world

pytestmark = pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="needs concurrent writers on separate connections; pytest-django's SQLite test "
    "database is in memory per connection, so run this on PostgreSQL (DATABASE_URL=postgres://…)",
)


def _race(n: int, send) -> list[tuple[int, dict]]:
    start = threading.Barrier(n)
    answers: list[tuple[int, dict]] = [None] * n  # type: ignore[list-item]

    def run(i: int):
        try:
            start.wait()
            answers[i] = send(i)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def _setup():
    world = build_world()
    community = world.grid_a1.parent
    secretary = world.secretary_a
    member = actions.enrol_member(community, name="王安娜", actor=secretary)
    rule = actions.create_rule(community, name="志愿服务", points=100, actor=secretary)
    claim = actions.claim_points(member, rule, done_on=date(2025, 1, 6), actor=secretary)
    actions.approve_claim(claim, actor=secretary)
    return community, secretary, member


def test_ten_redemptions_at_once_never_oversell_the_stock(world_after_flush, transactional_db):
    community, secretary, member = _setup()
    item = actions.add_item(community, name="大米", points=20, stock=3, actor=secretary)
    _, raw = ApiToken.issue(secretary)
    body = json.dumps({"member_id": member.pk, "item_id": item.pk})

    def send(i):
        r = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").post(
            "/api/v1/timebank/redemptions", body, content_type="application/json"
        )
        return r.status_code, r.json()

    answers = _race(10, send)

    assert sorted(status for status, _ in answers) == [201] * 3 + [409] * 7
    item.refresh_from_db()
    assert (item.stock, Redemption.objects.count()) == (0, 3)
    assert actions.account_of(member, Ledger.POINTS).balance == 100 - 3 * 20
    assert (unbalanced_transfers(), reconcile()) == ([], [])


def test_ten_redemptions_at_once_never_overdraw_the_points(world_after_flush, transactional_db):
    # points for five (100 / 20), ten different items in plenty: the account is what runs out
    community, secretary, member = _setup()
    items = [
        actions.add_item(community, name=f"毛巾{i}", points=20, stock=10, actor=secretary)
        for i in range(10)
    ]
    _, raw = ApiToken.issue(secretary)

    def send(i):
        body = json.dumps({"member_id": member.pk, "item_id": items[i].pk})
        r = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").post(
            "/api/v1/timebank/redemptions", body, content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=f"towel-{i}",
        )  # fmt: skip
        return r.status_code, r.json()

    answers = _race(10, send)

    assert sorted(status for status, _ in answers) == [201] * 5 + [409] * 5
    assert actions.account_of(member, Ledger.POINTS).balance == 0
    assert sorted(i.stock for i in type(items[0]).objects.all()) == [9] * 5 + [10] * 5
    assert (unbalanced_transfers(), reconcile()) == ([], [])


def test_the_same_redemption_sent_ten_times_at_once_is_done_once(
    world_after_flush, transactional_db
):
    community, secretary, member = _setup()
    item = actions.add_item(community, name="食用油", points=20, stock=3, actor=secretary)
    _, raw = ApiToken.issue(secretary)
    body = json.dumps({"member_id": member.pk, "item_id": item.pk})

    def send(i):
        r = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").post(
            "/api/v1/timebank/redemptions", body, content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="same-key",
        )  # fmt: skip
        return r.status_code, r.json()

    answers = _race(10, send)

    assert sorted(status for status, _ in answers) == [200] * 9 + [201]
    assert len({body["id"] for _, body in answers}) == 1
    item.refresh_from_db()
    assert (item.stock, Redemption.objects.count()) == (2, 1)
    assert actions.account_of(member, Ledger.POINTS).balance == 80
