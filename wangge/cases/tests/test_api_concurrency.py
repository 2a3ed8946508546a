"""Two dispatchers send the same case at the same moment: exactly one wins, the other gets 409,
and the timeline keeps one dispatch. Real threads, each with its own database connection."""

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from wangge.accounts.models import ApiToken
from wangge.cases.actions import report_case
from wangge.cases.models import Case, Channel
from wangge.world import build_world


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="needs concurrent writers on separate connections; pytest-django's SQLite test "
    "database is in memory per connection, so run this on PostgreSQL (DATABASE_URL=postgres://…)",
)
def test_two_dispatchers_at_once_exactly_one_wins(world_after_flush, transactional_db):
    world = build_world()
    case, _ = report_case(channel=Channel.HOTLINE, title="路灯不亮", actor=None, cell=world.grid_a1)
    targets = [(world.dispatcher, world.unit("urban")), (world.dispatcher_2, world.unit("water"))]
    tokens = [ApiToken.issue(user)[1] for user, _ in targets]
    start = threading.Barrier(2)
    answers: dict[int, tuple[int, dict]] = {}

    def dispatch(i: int):
        client = Client(HTTP_AUTHORIZATION=f"Bearer {tokens[i]}")
        body = json.dumps({"unit_id": targets[i][1].pk, "version": case.version})
        start.wait()
        try:
            r = client.post(
                f"/api/v1/cases/{case.pk}/dispatch", body, content_type="application/json"
            )
            answers[i] = (r.status_code, r.json())
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=dispatch, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    statuses = sorted((status, body.get("code", "")) for status, body in answers.values())
    assert statuses == [(200, ""), (409, "changed_meanwhile")]
    winner = next(i for i, (status, _) in answers.items() if status == 200)
    stored = Case.objects.get(pk=case.pk)
    assert (stored.state, stored.unit, stored.version) == ("dispatched", targets[winner][1], 2)
    assert [e.kind for e in stored.events.all()] == ["report", "dispatch"]
    assert stored.events.get(kind="dispatch").actor == targets[winner][0]
