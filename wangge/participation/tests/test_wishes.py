"""微心愿: exactly one claimant, even when two claim at the same moment; a second claim is
refused naming the first; fulfilment needs a photo; a public wish waits for review."""

import json
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from wangge.accounts.models import ApiToken
from wangge.audit.models import AuditEntry
from wangge.lib.errors import Conflict
from wangge.participation import actions
from wangge.participation.models import MicroWish, WishState
from wangge.world import build_world

# A real 2×2 PNG: photos are decoded and re-encoded without metadata before they are stored.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000002000000020802000000fdd49a73"
    "0000001649444154789c63d4eb0e6760606062606060606000000cc10114e1cda95c0000000049454e44ae426082"
)


def _wish(world, **kw):
    wish, _ = actions.post_wish(
        world.grid_a1.parent,
        title="想要一台收音机",
        wisher_name="王秀英",
        wisher_phone="13912345678",
        actor=world.secretary_a,
        **kw,
    )
    return wish


def test_a_second_claim_is_refused_with_the_first_claimants_name(world):
    wish = _wish(world)
    actions.claim_wish(
        wish, claimant_kind="party_member", claimant_name="党员李明", actor=world.secretary_a
    )
    client = Client(HTTP_AUTHORIZATION=f"Bearer {ApiToken.issue(world.grid_worker_a1)[1]}")

    r = client.post(
        f"/api/v1/participation/wishes/{wish.pk}/claim",
        json.dumps({"claimant_kind": "unit", "unit_id": world.unit("urban").pk}),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert r.status_code == 409
    assert r.json()["message"] == "This wish has already been claimed by 党员李明."
    wish.refresh_from_db()
    assert (wish.state, wish.claimant_name, wish.claimed_by) == (
        WishState.CLAIMED,
        "党员李明",
        world.secretary_a,
    )
    assert list(
        AuditEntry.objects.filter(object_type="MicroWish")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == ["post_wish", "claim_wish"]


def test_fulfilling_needs_a_photo_and_then_the_wish_is_fulfilled(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    wish = _wish(world)
    actions.claim_wish(wish, claimant_kind="unit", claimant_unit=world.unit("urban"), actor=None)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {ApiToken.issue(world.secretary_a)[1]}")
    url = f"/api/v1/participation/wishes/{wish.pk}/fulfil"

    fake = client.post(url, {"photo": SimpleUploadedFile("a.png", b"<svg/>", "image/png")})
    done = client.post(
        url, {"photo": SimpleUploadedFile("a.png", PNG, "image/png"), "note": "已送到"}
    )

    assert (fake.status_code, list(fake.json()["fields"])) == (400, ["photo"])
    assert (done.status_code, done.json()["state"], done.json()["has_fulfilment_photo"]) == (
        200,
        "fulfilled",
        True,
    )
    assert done.json()["claimant_name"] == "县城市管理局"


def test_a_wish_from_the_public_form_waits_for_review_and_is_created_once(world):
    community = world.grid_a1.parent
    first, created = actions.post_wish(
        community, title="孩子想要书包", wisher_name="赵小红", wisher_phone="13700001111",
        actor=None, idempotency_key="public:k1",
    )  # fmt: skip
    again, created_again = actions.post_wish(
        community, title="孩子想要书包", wisher_name="赵小红", wisher_phone="13700001111",
        actor=None, idempotency_key="public:k1",
    )  # fmt: skip

    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert first.state == WishState.PENDING
    with pytest.raises(Conflict):
        actions.claim_wish(first, claimant_kind="party_member", claimant_name="党员", actor=None)
    published = actions.review_wish(first, publish=True, actor=world.secretary_a)
    assert published.state == WishState.OPEN


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="needs concurrent writers on separate connections; pytest-django's SQLite test "
    "database is in memory per connection, so run this on PostgreSQL (DATABASE_URL=postgres://…)",
)
def test_two_claims_at_once_exactly_one_claimant(world_after_flush, transactional_db):
    world = build_world()
    wish, _ = actions.post_wish(
        world.grid_a1.parent, title="想要一副老花镜", wisher_name="刘大爷", actor=world.secretary_a
    )
    claims = [
        (world.secretary_a, {"claimant_kind": "party_member", "claimant_name": "党员甲"}),
        (world.grid_worker_a1, {"claimant_kind": "unit", "unit_id": world.unit("urban").pk}),
    ]
    tokens = [ApiToken.issue(user)[1] for user, _ in claims]
    start = threading.Barrier(2)
    answers: dict[int, tuple[int, dict]] = {}

    def claim(i: int):
        client = Client(HTTP_AUTHORIZATION=f"Bearer {tokens[i]}")
        start.wait()
        try:
            r = client.post(
                f"/api/v1/participation/wishes/{wish.pk}/claim",
                json.dumps(claims[i][1]),
                content_type="application/json",
            )
            answers[i] = (r.status_code, r.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(status for status, _ in answers.values()) == [200, 409]
    winner = next(i for i, (status, _) in answers.items() if status == 200)
    loser_body = next(body for status, body in answers.values() if status == 409)
    stored = MicroWish.objects.get(pk=wish.pk)
    assert (stored.state, stored.claimed_by, stored.version) == (
        WishState.CLAIMED,
        claims[winner][0],
        2,
    )
    assert stored.claimant_name in loser_body["message"]
    assert AuditEntry.objects.filter(object_type="MicroWish", action="claim_wish").count() == 1
