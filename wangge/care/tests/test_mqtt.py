"""What a device's MQTT message does once it reaches the listener's handler (no broker here):
alarms repeated within the window make one urgent case on the household's grid, a bad message is
kept with its reason and the next good one is still recorded."""

import json
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from wangge.care.models import Device, DeviceEvent, DeviceKind, RejectedMessage
from wangge.care.mqtt import Rejected, handle_batch, handle_message, parse_message, topic_pattern
from wangge.cases.models import Case
from wangge.people.models import Household

NOW = timezone.make_aware(datetime(2026, 11, 24, 3, 12))
TOPIC = "wangge/devices/SMOKE-7/events"


def body(message_id: str, kind: str = "alarm", at: datetime | None = None, **extra) -> bytes:
    return json.dumps(
        {"id": message_id, "type": kind, "at": (at or NOW).isoformat(), **extra}
    ).encode()


@pytest.fixture
def smoke(world):
    home = Household.objects.create(cell=world.grid_a1, address="幸福路8号3栋", door="101")
    return Device.objects.create(serial="SMOKE-7", kind=DeviceKind.SMOKE, household=home)


def test_a_smoke_alarm_sent_five_times_is_one_urgent_case_on_the_households_grid(world, smoke):
    sent = [
        body("a1"),
        body("a1"),  # the same message again (QoS 1 redelivery)
        body("a2", at=NOW + timedelta(minutes=1)),
        body("a3", at=NOW + timedelta(minutes=3)),
        body("a4", at=NOW + timedelta(minutes=8)),
    ]
    handled = [handle_message(TOPIC, raw, now=NOW + timedelta(minutes=8)) for raw in sent]

    assert [h.status for h in handled] == [
        "recorded",
        "duplicate",
        "recorded",
        "recorded",
        "recorded",
    ]
    case = Case.objects.get()
    assert (case.category.code, case.priority, case.channel) == ("1102", "emergency", "sensor")
    assert case.cell == world.grid_a1
    assert case.handling_cell == world.grid_a1 and case.assignee == world.grid_worker_a1
    assert [h.outcome.joined for h in handled if h.status == "recorded"] == [
        False,
        True,
        True,
        True,
    ]
    assert DeviceEvent.objects.filter(device=smoke, case=case).count() == 4
    smoke.refresh_from_db()
    assert smoke.last_seen_at == NOW + timedelta(minutes=8)


def test_an_alarm_after_the_window_opens_a_second_case(world, smoke, settings):
    settings.WANGGE_DEVICE_DEDUP_MINUTES = 10
    handle_message(TOPIC, body("b1"), now=NOW)
    later = NOW + timedelta(minutes=25)
    assert handle_message(TOPIC, body("b2", at=later), now=later).outcome.joined is False
    assert Case.objects.count() == 2


def test_a_malformed_message_is_kept_with_its_reason_and_the_next_one_is_recorded(world, smoke):
    bad = handle_message(TOPIC, b"{not json\x00", now=NOW)
    good = handle_message(TOPIC, body("h1", kind="heartbeat", battery=71), now=NOW)

    assert bad.status == "rejected" and "not JSON" in bad.reason
    rejected = RejectedMessage.objects.get()
    assert (rejected.topic, rejected.payload) == (TOPIC, "{not json\ufffd")
    assert good.status == "recorded"
    smoke.refresh_from_db()
    assert (smoke.battery, smoke.last_seen_at) == (71, NOW)


def test_a_batch_records_what_one_message_at_a_time_would(world, smoke):
    """The listener records many messages at once; the result is the same, in order."""
    door = Device.objects.create(
        serial="DOOR-3", kind=DeviceKind.DOOR, household=smoke.household, offline_since=NOW
    )
    door_topic = "wangge/devices/DOOR-3/events"
    handle_message(door_topic, body("d0", kind="heartbeat"), now=NOW)  # kept before the batch
    door.offline_since = NOW
    door.save()
    t = [NOW + timedelta(minutes=m) for m in range(6)]
    items = [
        (door_topic, body("d1", kind="heartbeat", at=t[1], battery=80)),
        (door_topic, body("d2", kind="open", at=t[3])),
        (door_topic, body("d0", kind="heartbeat", at=t[1])),  # already kept
        (door_topic, body("d2", kind="open", at=t[3])),  # twice in the batch
        (TOPIC, body("s1", kind="heartbeat", at=t[0], battery=50)),
        (TOPIC, body("s2", at=t[2], battery=49)),  # an alarm: this device goes one by one
        (TOPIC, b"oops"),
        (door_topic, body("d3", kind="battery", at=t[2], battery=79)),  # late, but the newest level
        ("wangge/devices/NOBODY/events", body("n1")),
    ]
    handled = handle_batch(items, now=t[5])

    assert [h.status for h in handled] == [
        "recorded",
        "recorded",
        "duplicate",
        "duplicate",
        "recorded",
        "recorded",
        "rejected",
        "recorded",
        "rejected",
    ]
    door.refresh_from_db()
    smoke.refresh_from_db()
    assert (door.last_seen_at, door.battery, door.offline_since) == (t[3], 79, None)
    assert (smoke.last_seen_at, smoke.battery) == (t[2], 49)
    assert handled[5].outcome.case.category.code == "1102"
    assert sorted(door.events.values_list("message_id", flat=True)) == ["d0", "d1", "d2", "d3"]
    assert DeviceEvent.objects.get(message_id="d2").payload["type"] == "open"
    assert RejectedMessage.objects.count() == 2


def test_messages_of_unknown_or_retired_devices_are_rejected(world, smoke):
    smoke.active = False
    smoke.save()
    for topic in (TOPIC, "wangge/devices/NOBODY/events"):
        assert handle_message(topic, body("x1"), now=NOW).status == "rejected"
    assert RejectedMessage.objects.count() == 2
    assert not DeviceEvent.objects.exists() and not Case.objects.exists()


def test_a_message_without_time_is_taken_at_receipt(world, smoke):
    raw = json.dumps({"id": 9, "type": "heartbeat"}).encode()
    handled = handle_message(TOPIC, raw, now=NOW)
    assert handled.outcome.event.occurred_at == NOW
    assert handled.outcome.event.message_id == "9"


@pytest.mark.parametrize(
    ("topic", "raw", "reason"),
    [
        ("wangge/devices/S1/status", body("m"), "topic does not match"),
        ("wangge/devices/S1/events/x", body("m"), "topic does not match"),
        (TOPIC, b"\xff\xfe", "not JSON"),
        (TOPIC, b"[1, 2]", "not a JSON object"),
        (TOPIC, json.dumps({"type": "alarm"}).encode(), "missing id"),
        (TOPIC, json.dumps({"id": "x" * 65, "type": "alarm"}).encode(), "longer than 64"),
        (TOPIC, body("m", kind="fire"), "unknown type 'fire'"),
        (TOPIC, json.dumps({"id": "m", "type": "open", "at": "yesterday"}).encode(), "ISO 8601"),
        (TOPIC, json.dumps({"id": "m", "type": "open", "at": 1700000000}).encode(), "ISO 8601"),
        (
            TOPIC,
            json.dumps({"id": "m", "type": "open", "at": "2026-11-24T03:12:00"}).encode(),
            "no UTC offset",
        ),
        (TOPIC, body("m", at=NOW + timedelta(days=2)), "in the future"),
        (TOPIC, body("m", kind="battery"), "without a battery level"),
        (TOPIC, body("m", kind="battery", battery=140), "from 0 to 100"),
        (TOPIC, body("m", kind="heartbeat", battery=True), "from 0 to 100"),
        (TOPIC, body("m", data=[1]), "data must be a JSON object"),
        (TOPIC, body("m", data={"note": "a\x00b"}), "NUL"),
    ],
)
def test_what_validation_refuses(topic, raw, reason):
    with pytest.raises(Rejected) as exc:
        parse_message(topic, raw, now=NOW, pattern=topic_pattern("wangge/devices/+/events"))
    assert reason in exc.value.reason


def test_a_valid_message_is_read_whole():
    raw = body("m7", kind="open", at=NOW.astimezone(timezone.get_fixed_timezone(480)), battery=55)
    message = parse_message(TOPIC, raw, now=NOW)
    assert (message.serial, message.message_id, message.kind, message.battery) == (
        "SMOKE-7",
        "m7",
        "open",
        55,
    )
    assert message.occurred_at == NOW and message.payload["battery"] == 55


def test_the_topic_filter_needs_one_serial_level():
    assert topic_pattern("site/+/up").match("site/D-1/up").group(1) == "D-1"
    for bad in ("wangge/devices/#", "wangge/+/+/events", "wangge/devices/events"):
        with pytest.raises(ValueError):
            topic_pattern(bad)
