"""Intake that answers before 智能分派 (WANGGE_INTAKE_ROUTING=worker, the production default):
the case is stored and answered at once, and the worker routes it on its next poll. Also: retries
racing for one idempotency key store one case, and a case whose routing fails does not hold up the
ones behind it."""

import json
import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from wangge.accounts.models import ApiToken
from wangge.cases.models import Case, CaseEvent
from wangge.dispatch import actions as dispatch_actions
from wangge.dispatch.actions import route_pending
from wangge.dispatch.models import DispatchRecommendation
from wangge.world import build_world, centre_of


@pytest.fixture
def routed_by_worker(settings):
    settings.WANGGE_INTAKE_ROUTING = "worker"


def post_case(token: str, body: dict, key: str):
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}").post(
        "/api/v1/cases", json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
    )


def body_in(cell, **fields) -> dict:
    lon, lat = centre_of(cell)
    return {"title": "小区路灯不亮", "channel": "web", "lon": lon, "lat": lat, **fields}


def test_the_case_is_answered_at_once_and_the_worker_dispatches_it(world, routed_by_worker):
    _, token = ApiToken.issue(world.dispatcher)
    r = post_case(token, body_in(world.grid_a1, category="0201"), "h5-1")

    assert r.status_code == 201, r.content
    answer = r.json()
    assert (answer["state"], answer["routing_pending"], answer["unit"]) == ("new", True, None)
    assert [e["kind"] for e in answer["events"]] == ["report"]
    assert answer["cell"]["code"].startswith(world.grid_a1.code)  # located on the spot
    assert not DispatchRecommendation.objects.filter(case_id=answer["id"]).exists()

    out = StringIO()
    call_command("worker", "--once", stdout=out)

    assert out.getvalue().startswith("routed=1 ")
    case = Case.objects.get(pk=answer["id"])
    assert (case.state, case.unit.code, case.routing_pending) == ("dispatched", "urban", False)
    assert [e.kind for e in case.events.all()] == ["report", "dispatch"]
    assert case.events.get(kind="dispatch").actor.username == "system:dispatch-rules"
    # The next poll finds nothing left to route.
    assert route_pending() == 0


def test_a_retry_before_routing_answers_200_with_the_same_case(world, routed_by_worker):
    _, token = ApiToken.issue(world.dispatcher)
    first = post_case(token, body_in(world.grid_a1, category="0201"), "h5-2")
    again = post_case(token, body_in(world.grid_a1, title="重发", category="0201"), "h5-2")

    assert (first.status_code, again.status_code) == (201, 200)
    assert (again.json()["id"], again.json()["title"]) == (first.json()["id"], "小区路灯不亮")
    assert Case.objects.filter(idempotency_key="h5-2").count() == 1
    assert CaseEvent.objects.filter(case_id=first.json()["id"]).count() == 1


def test_a_case_whose_routing_fails_is_left_for_a_dispatcher(world, report, monkeypatch):
    broken, fine = report("路灯不亮", category="0201"), report("井盖丢了", category="0201")
    Case.objects.filter(pk__in=[broken.pk, fine.pk]).update(routing_pending=True)
    real = dispatch_actions.place_case

    def place(case):
        if case.pk == broken.pk:
            raise RuntimeError("a bug in one case's routing")
        return real(case)

    monkeypatch.setattr(dispatch_actions, "place_case", place)

    assert route_pending() == 2

    broken.refresh_from_db(), fine.refresh_from_db()
    assert (broken.state, broken.routing_pending) == ("new", False)
    assert [e.kind for e in broken.events.all()] == ["report"]
    assert (fine.state, fine.routing_pending) == ("dispatched", False)


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="needs concurrent writers on separate connections (PostgreSQL)",
)
def test_eight_retries_racing_for_one_key_store_one_case(
    world_after_flush, transactional_db, settings
):
    settings.WANGGE_INTAKE_ROUTING = "worker"
    world = build_world()
    _, token = ApiToken.issue(world.dispatcher)
    body = body_in(world.grid_a1, category="0201")
    start = threading.Barrier(8)
    answers: list[tuple[int, int]] = []

    def send():
        start.wait()
        try:
            r = post_case(token, body, "weak-signal-retry")
            answers.append((r.status_code, r.json()["id"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(status for status, _ in answers) == [200] * 7 + [201]
    assert len({case_id for _, case_id in answers}) == 1
    case = Case.objects.get(idempotency_key="weak-signal-retry")
    assert [e.kind for e in case.events.all()] == ["report"]


def test_the_fast_answer_is_byte_for_byte_what_django_ninja_would_send(world, routed_by_worker):
    """The 201 of the hot path skips django-ninja's validation (lib/answers.py); it must still
    be exactly the schema's answer, for a case with and without a reporter, category or cell."""
    from ninja.renderers import JSONRenderer

    from wangge.api import api
    from wangge.cases.schemas import CaseDetailOut

    assert type(api.renderer) is JSONRenderer  # what lib/answers.py renders with

    _, token = ApiToken.issue(world.dispatcher)
    bodies = [
        body_in(world.grid_a1, category="0201", reporter_name="王芳", reporter_phone="13812341234"),
        {"title": "楼道灯坏了", "channel": "qr", "cell": world.grid_a1.code, "anonymous": True},
        {"title": "没有位置的热线", "channel": "hotline", "address": "某小区"},
    ]
    for n, body in enumerate(bodies):
        r = post_case(token, body, f"same-{n}")
        assert r.status_code == 201, r.content
        case = Case.objects.get(pk=r.json()["id"])
        case.show_internal = True
        data = CaseDetailOut.from_orm(case).model_dump()
        expected = JSONRenderer().render(None, data, response_status=201)
        assert r.content.decode() == expected
        assert r["Content-Type"] == "application/json; charset=utf-8"
