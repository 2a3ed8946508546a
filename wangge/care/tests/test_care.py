"""窗帘之约 and 走访: a missed check-in climbs the chain of carers on a timetable and finally
opens an urgent case with a clock in minutes; any check-in stops the climb; a visit checks in and
its finding becomes a case in one step."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from wangge.care.actions import (
    confirm_well,
    enrol,
    record_check_in,
    record_device_message,
    record_visit,
    sweep_care,
    visit_to_case,
)
from wangge.care.models import AlertState, CheckInSource, Device, DeviceKind, MissedCheckIn
from wangge.cases.models import Case, Notification
from wangge.people.models import Household, Resident


def at(hour: int, minute: int = 0, day: int = 24) -> datetime:
    return timezone.make_aware(datetime(2026, 11, day, hour, minute))


@pytest.fixture
def grandma(world):
    home = Household.objects.create(cell=world.grid_a1, address="幸福路8号3栋", door="101")
    return Resident.objects.create(household=home, name="张桂英", phone="13812345678")


@pytest.fixture
def enrolment(world, grandma):
    return enrol(
        grandma,
        window_start=time(7, 0),
        window_end=time(9, 0),
        actor=world.secretary_a,
        carers=[
            {"kind": "family", "name": "女儿李娜", "phone": "13900001111", "wait_minutes": 20},
            {"kind": "neighbour", "name": "邻居王大爷", "wait_minutes": 15},
            {"kind": "grid_worker", "name": "网格员张敏", "user": world.grid_worker_a1},
        ],
    )


def notified(kind: str) -> list[dict]:
    return [n.payload for n in Notification.objects.filter(kind=kind).order_by("id")]


def test_a_missed_window_climbs_the_chain_and_ends_in_an_urgent_case(world, enrolment):
    assert sweep_care(now=at(8, 30)).missed == 0  # the window is still open
    assert sweep_care(now=at(9, 1)).missed == 1
    assert [p["carer"] for p in notified("care_missed_check_in")] == ["女儿李娜"]

    sweep_care(now=at(9, 10))  # the daughter still has ten minutes
    assert len(notified("care_missed_check_in")) == 1
    sweep_care(now=at(9, 22))
    sweep_care(now=at(9, 38))
    assert [p["carer"] for p in notified("care_missed_check_in")] == [
        "女儿李娜",
        "邻居王大爷",
        "网格员张敏",
    ]
    assert not Case.objects.exists()

    result = sweep_care(now=at(10, 10))
    assert result.cases == 1
    alert = MissedCheckIn.objects.get()
    case = alert.case
    assert (alert.state, case.category.code, case.priority) == (AlertState.CASE, "1103", "urgent")
    assert case.handling_cell == world.grid_a1 and case.state == "dispatched"
    assert case.assignee == world.grid_worker_a1
    # 分钟级响应: fifteen minutes to accept, round the clock.
    assert case.accept_due_at - case.dispatched_at == timedelta(minutes=15)
    assert sweep_care(now=at(10, 30)).cases == 0  # once


def test_a_carer_confirming_the_person_is_well_stops_the_climb(world, enrolment):
    sweep_care(now=at(9, 1))
    alert = MissedCheckIn.objects.get()
    confirm_well(alert, by=world.grid_worker_a1, now=at(9, 5))
    sweep_care(now=at(11, 0))
    alert.refresh_from_db()
    assert (alert.state, alert.case) == (AlertState.WELL, None)
    assert len(notified("care_missed_check_in")) == 1
    assert not Case.objects.exists()


def test_a_check_in_in_time_means_no_alert_and_a_late_one_settles_it(world, enrolment):
    record_check_in(enrolment, source=CheckInSource.CARER, now=at(7, 30))
    assert sweep_care(now=at(9, 30)).missed == 0
    # The next day nobody checks in until the chain has started.
    sweep_care(now=at(9, 1, day=25))
    record_check_in(enrolment, source=CheckInSource.BUTTON, now=at(9, 10, day=25))
    assert MissedCheckIn.objects.get(day=at(9, 1, day=25).date()).state == AlertState.WELL


def test_the_door_sensors_first_opening_in_the_window_is_the_check_in(world, enrolment, grandma):
    door = Device.objects.create(
        serial="DOOR-1", kind=DeviceKind.DOOR, household=grandma.household, resident=grandma
    )
    early = record_device_message(
        door, message_id="m1", kind="open", occurred_at=at(6, 0), payload={}
    )
    first = record_device_message(
        door, message_id="m2", kind="open", occurred_at=at(7, 15), payload={}
    )
    second = record_device_message(
        door, message_id="m3", kind="open", occurred_at=at(7, 40), payload={}
    )
    assert (early.check_in, second.check_in) == (None, None)
    assert first.check_in.source == CheckInSource.DOOR
    assert sweep_care(now=at(9, 30)).missed == 0


def test_a_visit_checks_in_and_its_finding_becomes_a_case(world, enrolment, grandma):
    visit, created = record_visit(
        grandma.household,
        visitor=world.grid_worker_a1,
        findings="楼道灯坏了，老人晚上出门不便",
        idempotency_key="visit-1",
        now=at(8, 0),
    )
    again, created_again = record_visit(
        grandma.household, visitor=world.grid_worker_a1, idempotency_key="visit-1"
    )
    assert (created, created_again, again.pk) == (True, False, visit.pk)
    assert sweep_care(now=at(9, 30)).missed == 0  # the visit was today's check-in
    case = visit_to_case(visit, actor=world.grid_worker_a1, title="楼道灯坏了")
    assert (case.channel, case.cell, case.description) == (
        "patrol",
        world.grid_a1,
        "楼道灯坏了，老人晚上出门不便",
    )
    assert visit_to_case(visit, actor=world.grid_worker_a1, title="x") == case  # one step, once


def test_the_worker_round_runs_the_care_sweep(world, enrolment, monkeypatch):
    from io import StringIO

    from django.core.management import call_command

    monkeypatch.setattr(timezone, "now", lambda: at(9, 5))
    out = StringIO()
    call_command("worker", "--once", stdout=out)
    assert "care: missed=1 escalated=1 cases=0 offline=0" in out.getvalue()
    assert [p["carer"] for p in notified("care_missed_check_in")] == ["女儿李娜"]
