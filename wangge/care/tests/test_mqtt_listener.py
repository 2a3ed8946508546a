"""The listener against a real Mosquitto: the shared one on 127.0.0.1:1883 (started by
scripts/ensure-test-services) and, for the restart, a private one on a free port that the test
stops and starts. Every test has its own topic and client ids, so parallel workers do not meet.

The listener records in the test's own thread (paho's thread only receives), so these run on
SQLite and PostgreSQL alike inside the test's transaction."""

import getpass
import json
import shutil
import socket
import subprocess
import threading
import time
import uuid

import paho.mqtt.client as mqtt
import pytest
from django.utils import timezone
from paho.mqtt.enums import CallbackAPIVersion

from wangge.care.models import Device, DeviceEvent, DeviceKind, RejectedMessage
from wangge.care.mqtt import BrokerConfig, Listener, forget_session
from wangge.cases.models import Case
from wangge.people.models import Household

pytestmark = pytest.mark.skipif(
    shutil.which("mosquitto") is None,
    reason="needs Mosquitto (scripts/ensure-test-services installs and starts it)",
)

SHARED_PORT = 1883
PATIENCE = 60.0  # seconds a test waits for the broker before it fails


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """A private Mosquitto with persistence in a temporary folder, stopped and started by the
    test (the shared one on 1883 is never touched)."""

    def __init__(self, folder):
        self.port = free_port()
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {folder}/\n"
            "max_queued_messages 100000\n"
            f"user {getpass.getuser()}\n"
            "log_dest none\n"
        )
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(["mosquitto", "-c", str(self.conf)])
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("the private broker did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()  # Mosquitto saves its persistence file on SIGTERM
            self.proc.wait(timeout=PATIENCE)
            self.proc = None


@pytest.fixture
def private_broker(tmp_path):
    broker = Broker(tmp_path)
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def prefix():
    return f"wangge-test/{uuid.uuid4().hex[:12]}"


@pytest.fixture
def config(prefix):
    cfg = BrokerConfig(
        host="127.0.0.1",
        port=SHARED_PORT,
        client_id=f"{prefix.replace('/', '-')}-listener",
        topic=f"{prefix}/devices/+/events",
        session_expiry=300,
    )
    yield cfg
    forget_session(cfg)


@pytest.fixture
def home(world):
    return Household.objects.create(cell=world.grid_a1, address="幸福路8号3栋", door="101")


def publisher(port: int) -> mqtt.Client:
    """A device-like publisher: QoS 1, and paho keeps what it could not send yet until it is
    connected again. `client.acked` holds the packet ids the broker acknowledged."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:12]}")
    client.acked = set()
    client.on_publish = lambda c, userdata, mid, reason, props: c.acked.add(mid)
    client.reconnect_delay_set(1, 2)
    client.connect_async("127.0.0.1", port)
    client.loop_start()
    return client


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def message(message_id: str, kind: str, **extra) -> bytes:
    at = timezone.now().isoformat()
    return json.dumps({"id": message_id, "type": kind, "at": at, **extra}).encode()


def listen_while(listener: Listener, scenario, *, until_done: int) -> None:
    """Run the listener here (it records in this thread, inside the test's transaction) while
    `scenario()` runs in another thread; stop once `until_done` messages were handled."""
    failure: list[BaseException] = []

    def drive():
        try:
            wait_for(listener.subscribed.is_set, "the subscription")
            scenario()
            wait_for(lambda: listener.stats.done >= until_done, f"{until_done} messages")
        except BaseException as exc:
            failure.append(exc)
        finally:
            listener.stop()

    thread = threading.Thread(target=drive)
    thread.start()
    listener.run(idle_seconds=PATIENCE)
    thread.join()
    if failure:
        raise failure[0]


def publish_all(client: mqtt.Client, items: list[tuple[str, bytes]], pause: float = 0.0):
    infos = []
    for topic, payload in items:
        infos.append(client.publish(topic, payload, qos=1))
        if pause:
            time.sleep(pause)
    wait_for(lambda: {info.mid for info in infos} <= client.acked, "the broker's PUBACKs")


def test_a_smoke_alarm_published_five_times_is_one_urgent_case(world, home, config, prefix):
    Device.objects.create(serial="SMOKE-1", kind=DeviceKind.SMOKE, household=home)
    topic = f"{prefix}/devices/SMOKE-1/events"
    sent = [message("a1", "alarm"), None, message("a2", "alarm"), message("a3", "alarm")]
    sent[1] = sent[0]  # the device sends the same message again
    sent.append(message("a4", "alarm", battery=64))
    listener = Listener(config)
    pub = publisher(SHARED_PORT)
    try:
        listen_while(
            listener, lambda: publish_all(pub, [(topic, raw) for raw in sent]), until_done=5
        )
    finally:
        pub.disconnect()
        pub.loop_stop()

    case = Case.objects.get()
    assert (case.category.code, case.priority, case.cell) == ("1102", "emergency", world.grid_a1)
    assert case.assignee == world.grid_worker_a1
    assert DeviceEvent.objects.filter(case=case).count() == 4
    s = listener.stats
    assert (s.recorded, s.duplicates, s.cases_opened, s.cases_joined) == (4, 1, 1, 3)


def test_a_malformed_message_is_rejected_and_counted_and_the_next_one_recorded(
    world, home, config, prefix
):
    door = Device.objects.create(serial="DOOR-1", kind=DeviceKind.DOOR, household=home)
    items = [
        (f"{prefix}/devices/DOOR-1/events", b"\x00garbage"),
        (f"{prefix}/devices/GHOST-9/events", message("g1", "open")),
        (f"{prefix}/devices/DOOR-1/events", message("d1", "heartbeat", battery=88)),
    ]
    listener = Listener(config)
    pub = publisher(SHARED_PORT)
    try:
        listen_while(listener, lambda: publish_all(pub, items), until_done=3)
    finally:
        pub.disconnect()
        pub.loop_stop()

    assert (listener.stats.rejected, listener.stats.recorded) == (2, 1)
    reasons = sorted(RejectedMessage.objects.values_list("reason", flat=True))
    assert reasons[0].startswith("not JSON") and "GHOST-9" in reasons[1]
    door.refresh_from_db()
    assert door.battery == 88 and door.last_seen_at is not None


def test_nothing_is_lost_while_the_listener_is_away_or_failing(
    world, home, config, prefix, monkeypatch
):
    """A message received but not recorded (the database failed) is not acknowledged, so the
    broker delivers it again to the next listener with the same client id, together with what
    was published while no listener was connected."""
    Device.objects.create(serial="BTN-1", kind=DeviceKind.BUTTON, household=home)
    topic = f"{prefix}/devices/BTN-1/events"
    pub = publisher(SHARED_PORT)
    failing = Listener(config, retry_delay=(0.05, 0.2))
    tried = threading.Event()

    def database_down(self, batch):
        from django.db import OperationalError

        tried.set()
        raise OperationalError("the database is restarting")

    try:
        with monkeypatch.context() as patch:
            patch.setattr(Listener, "_record_together", database_down)
            listen_while(
                failing,
                lambda: (
                    publish_all(pub, [(topic, message(f"h{i}", "heartbeat")) for i in range(5)]),
                    wait_for(tried.is_set, "a recording attempt"),
                ),
                until_done=0,
            )
        assert failing.stats.done == 0 and not DeviceEvent.objects.exists()
        # Nobody listens now; the broker keeps these for the session.
        publish_all(pub, [(topic, message(f"h{i}", "heartbeat")) for i in range(5, 10)])
        back = Listener(config)
        listen_while(back, lambda: None, until_done=10)
    finally:
        pub.disconnect()
        pub.loop_stop()

    ids = sorted(DeviceEvent.objects.values_list("message_id", flat=True), key=lambda m: int(m[1:]))
    assert ids == [f"h{i}" for i in range(10)]


def test_a_broker_restart_loses_no_message(world, home, private_broker, prefix):
    Device.objects.create(serial="DOOR-2", kind=DeviceKind.DOOR, household=home)
    topic = f"{prefix}/devices/DOOR-2/events"
    config = BrokerConfig(
        port=private_broker.port,
        client_id=f"{prefix.replace('/', '-')}-listener",
        topic=f"{prefix}/devices/+/events",
    )
    listener = Listener(config, reconnect_delay=(1, 2))
    pub = publisher(private_broker.port)
    total = 120

    def scenario():
        infos = []
        for i in range(total):
            kind = "open" if i % 2 else "close"
            infos.append(pub.publish(topic, message(f"m{i}", kind), qos=1))
            if i == 40:
                private_broker.stop()  # mid-stream: the listener and the publisher lose it
            if i == 80:
                private_broker.start()
            time.sleep(0.01)
        wait_for(lambda: {info.mid for info in infos} <= pub.acked, "the broker's PUBACKs")

    try:
        listen_while(listener, scenario, until_done=total)
    finally:
        pub.disconnect()
        pub.loop_stop()

    assert listener.stats.connects >= 2 and listener.stats.disconnects >= 1
    assert DeviceEvent.objects.count() == total
    assert listener.stats.recorded == total and listener.stats.rejected == 0
