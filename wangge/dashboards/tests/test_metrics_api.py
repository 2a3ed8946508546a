"""GET /api/v1/metrics: scoped to the caller's grid cells, defaulting to the widest one."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from wangge.accounts.models import ApiToken
from wangge.cases.actions import dispatch_case

URL = "/api/v1/metrics"


def _client(user) -> Client:
    _, raw = ApiToken.issue(user)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def recent(world, report):
    """Two cases in grid A1 and one in grid B1 reported today; one in A1 40 days ago."""
    now = timezone.now()
    a = report("路灯不亮")
    dispatch_case(a, unit=world.unit("urban"), actor=world.dispatcher)
    report("垃圾未清运")
    report("井盖缺失", cell=world.grid_b1)
    report("旧案", now=now - timedelta(days=40))


def test_dispatcher_sees_the_county_for_the_last_30_days_by_default(world, recent):
    response = _client(world.dispatcher).get(URL)
    assert response.status_code == 200
    body = response.json()
    today = timezone.localdate()
    assert body["grid"] == {
        "id": world.county.pk,
        "code": world.county.code,
        "name": world.county.name,
        "level": 1,
    }
    assert (body["start"], body["end"]) == (str(today - timedelta(days=29)), str(today))
    assert (body["total"], body["by_state"]["new"], body["by_state"]["dispatched"]) == (3, 2, 1)
    assert (body["dispatched"], body["returned"], body["return_rate"]) == (1, 0, 0.0)
    assert body["by_colour"] == {"green": 1, "yellow": 0, "red": 0, "none": 2}


def test_a_grid_worker_sees_their_grid_by_default_and_may_name_it_by_code_or_id(world, recent):
    client = _client(world.grid_worker_a1)
    by_default = client.get(URL).json()
    by_code = client.get(URL, {"grid": world.grid_a1.code}).json()
    by_id = client.get(URL, {"grid": str(world.grid_a1.pk)}).json()
    assert by_default == by_code == by_id
    assert (by_default["grid"]["code"], by_default["total"]) == (world.grid_a1.code, 2)


def test_an_explicit_period_takes_in_older_cases(world, recent):
    today = timezone.localdate()
    body = (
        _client(world.grid_worker_a1)
        .get(URL, {"start": str(today - timedelta(days=60)), "end": str(today)})
        .json()
    )
    assert (body["start"], body["total"]) == (str(today - timedelta(days=60)), 3)


def test_a_grid_outside_the_callers_cells_answers_404_like_a_missing_one(world, recent):
    client = _client(world.grid_worker_a1)
    outside = client.get(URL, {"grid": world.grid_b1.code})
    above = client.get(URL, {"grid": world.county.code})
    missing = client.get(URL, {"grid": "999999999"})
    assert [r.status_code for r in (outside, above, missing)] == [404, 404, 404]
    assert outside.json() == missing.json()
    assert outside.json()["code"] == "not_found"


def test_a_resident_without_the_permission_is_refused(world, recent):
    response = _client(world.resident).get(URL)
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")


def test_a_unit_handler_with_no_grid_cell_has_no_metrics_scope(world, recent):
    response = _client(world.urban_handler).get(URL)
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_without_a_token_the_answer_is_401(world, recent):
    assert Client().get(URL).status_code == 401


def test_a_start_after_the_end_is_refused_with_the_field_named(world, recent):
    response = _client(world.dispatcher).get(URL, {"start": "2025-03-10", "end": "2025-03-01"})
    assert response.status_code == 400
    assert response.json()["fields"] == {"start": "The start must not be after the end."}
