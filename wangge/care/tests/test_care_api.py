"""Care over the API: a grid worker answers missed check-ins, records visits (once, even when
sent twice) and turns a finding into a case; coverage names the households not yet visited;
another grid's households answer 404."""

import json
from datetime import time

from django.test import Client

from wangge.accounts.models import ApiToken
from wangge.care.actions import enrol, sweep_care
from wangge.care.models import AlertState, MissedCheckIn, ServiceBooking, Visit
from wangge.people.models import Household, Resident


def api(user) -> Client:
    _, raw = ApiToken.issue(user)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def post(client, path, body, **headers):
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


def homes(world):
    a = Household.objects.create(cell=world.grid_a1, address="幸福路8号", door="101")
    a2 = Household.objects.create(cell=world.grid_a1, address="幸福路8号", door="102")
    b = Household.objects.create(cell=world.grid_b1, address="和平路1号", door="201")
    return a, a2, b


def test_a_grid_worker_answers_a_missed_check_in_of_their_grid(world):
    a, _, b = homes(world)
    for home, name in ((a, "张桂英"), (b, "李大爷")):
        person = Resident.objects.create(household=home, name=name)
        enrol(person, window_start=time(0, 0), window_end=time(0, 1), actor=None,
              carers=[{"kind": "grid_worker", "name": "网格员"}])  # fmt: skip
    sweep_care()
    worker = api(world.grid_worker_a1)
    listed = worker.get("/api/v1/care/alerts?state=open").json()
    assert [a["resident"] for a in listed] == ["张桂英"]
    other = MissedCheckIn.objects.get(enrolment__resident__name="李大爷")
    assert worker.post(f"/api/v1/care/alerts/{other.pk}/well").status_code == 404
    r = worker.post(f"/api/v1/care/alerts/{listed[0]['id']}/well")
    assert (r.status_code, r.json()["state"]) == (200, AlertState.WELL)
    again = worker.post(f"/api/v1/care/alerts/{listed[0]['id']}/well")
    assert again.status_code == 409


def test_a_visit_sent_twice_is_recorded_once_and_becomes_a_case(world):
    a, _, b = homes(world)
    worker = api(world.grid_worker_a1)
    body = {"household_id": a.pk, "findings": "楼道堆放杂物，有消防隐患"}
    first = post(worker, "/api/v1/care/visits", body, HTTP_IDEMPOTENCY_KEY="v-1")
    again = post(worker, "/api/v1/care/visits", body, HTTP_IDEMPOTENCY_KEY="v-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert Visit.objects.count() == 1
    elsewhere = post(worker, "/api/v1/care/visits", {"household_id": b.pk})
    assert elsewhere.status_code == 404
    r = post(
        worker,
        f"/api/v1/care/visits/{first.json()['id']}/case",
        {"title": "楼道杂物", "category": "0302"},
    )
    case_id = r.json()["case_id"]
    assert case_id is not None
    case = Visit.objects.get().case
    assert (case.pk, case.category.code, case.cell) == (case_id, "0302", world.grid_a1)


def test_coverage_names_the_households_not_visited(world):
    a, a2, _ = homes(world)
    worker = api(world.grid_worker_a1)
    post(worker, "/api/v1/care/visits", {"household_id": a.pk})
    rows = worker.get(f"/api/v1/care/coverage?grid={world.grid_a1.code}&days=30").json()
    total = {
        "households": sum(r["households"] for r in rows),
        "visited": sum(r["visited"] for r in rows),
        "overdue": [h for r in rows for h in r["overdue"]],
    }
    assert total == {"households": 2, "visited": 1, "overdue": [str(a2)]}
    assert worker.get(f"/api/v1/care/coverage?grid={world.grid_b1.code}").status_code == 404


def test_a_meal_is_booked_for_a_person_of_the_grid(world):
    a, _, b = homes(world)
    mine = Resident.objects.create(household=a, name="张桂英")
    theirs = Resident.objects.create(household=b, name="李大爷")
    worker = api(world.grid_worker_a1)
    body = {"resident_id": mine.pk, "kind": "meal", "for_date": "2026-11-25"}
    assert post(worker, "/api/v1/care/services", body).status_code == 201
    body["resident_id"] = theirs.pk
    assert post(worker, "/api/v1/care/services", body).status_code == 404
    booked = ServiceBooking.objects.values_list("resident__name", "kind")
    assert list(booked) == [("张桂英", "meal")]


def test_a_person_is_enrolled_with_carers_and_a_meal_is_recorded_as_delivered(world):
    a, _, b = homes(world)
    mine = Resident.objects.create(household=a, name="张桂英")
    theirs = Resident.objects.create(household=b, name="李大爷")
    worker = api(world.grid_worker_a1)
    body = {
        "resident_id": mine.pk,
        "window_start": "07:00",
        "window_end": "09:00",
        "carers": [
            {"kind": "family", "name": "女儿李娜", "phone": "13900001111"},
            {"kind": "grid_worker", "name": "网格员", "user_id": world.grid_worker_a1.pk},
        ],
    }
    r = post(worker, "/api/v1/care/enrolments", body)
    assert (r.status_code, r.json()["window_end"]) == (201, "09:00:00")
    assert [c.name for c in mine.care.carers.all()] == ["女儿李娜", "网格员"]
    assert (
        post(worker, "/api/v1/care/enrolments", {**body, "resident_id": theirs.pk}).status_code
        == 404
    )
    bad = post(worker, "/api/v1/care/enrolments", {**body, "window_end": "06:00"})
    assert bad.status_code == 400

    booking = post(
        worker,
        "/api/v1/care/services",
        {"resident_id": mine.pk, "kind": "meal", "for_date": "2026-11-25"},
    ).json()
    done = worker.post(f"/api/v1/care/services/{booking['id']}/done")
    assert (done.status_code, done.json()["state"]) == (200, "done")
    assert worker.post(f"/api/v1/care/services/{booking['id']}/done").status_code == 409
