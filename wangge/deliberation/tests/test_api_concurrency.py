"""Two clerks record the same step of the same matter at the same moment: exactly one wins, the
other gets 409, and the matter keeps one step. Real threads, each with its own connection."""

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from wangge.accounts.models import ApiToken
from wangge.deliberation import actions
from wangge.deliberation.models import Matter
from wangge.world import build_world


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="needs concurrent writers on separate connections; pytest-django's SQLite test "
    "database is in memory per connection, so run this on PostgreSQL (DATABASE_URL=postgres://…)",
)
def test_two_clerks_recording_the_same_step_exactly_one_wins(world_after_flush, transactional_db):
    world = build_world()
    village = world.grid_a1.parent
    matter = actions.create_matter(village, title="村道硬化", actor=world.secretary_a)
    clerks = [world.secretary_a, world.grid_worker_a1]
    tokens = [ApiToken.issue(user)[1] for user in clerks]
    start = threading.Barrier(2)
    answers: dict[int, tuple[int, dict]] = {}

    def record(i: int):
        client = Client(HTTP_AUTHORIZATION=f"Bearer {tokens[i]}")
        body = {
            "kind": "propose",
            "version": matter.version,
            "held_on": "2025-03-03",
            "expected": 5,
            "present": 5,
            "minutes": f"clerk {i}",
        }
        start.wait()
        try:
            r = client.post(
                f"/api/v1/deliberation/matters/{matter.pk}/steps",
                json.dumps(body),
                content_type="application/json",
            )
            answers[i] = (r.status_code, r.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=record, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    statuses = sorted((status, body.get("code", "")) for status, body in answers.values())
    assert statuses == [(200, ""), (409, "changed_meanwhile")]
    winner = next(i for i, (status, _) in answers.items() if status == 200)
    stored = Matter.objects.get(pk=matter.pk)
    assert (stored.state, stored.version) == ("proposed", 2)
    assert [(s.kind, s.minutes, s.recorded_by) for s in stored.steps.all()] == [
        ("propose", f"clerk {winner}", clerks[winner])
    ]
