"""智能守护 over MQTT: what a home device's message must look like, and the listener that records
each one through `record_device_message`.

A device publishes to `wangge/devices/<serial>/events` (the filter is `WANGGE_MQTT_TOPIC`) a JSON
object `{"id", "type", "at"?, "battery"?, "data"?}` (see docs/devices.md). A message that fails
validation is kept as a `RejectedMessage` with the reason, logged and counted; it never stops the
listener.

Nothing is lost between the broker and the database:

- QoS 1 with a persistent session (MQTT 5, a fixed client id, `clean_start=False` and a session
  expiry), so the broker keeps what arrives while the listener is away or reconnecting;
- paho's manual acknowledgement: a PUBACK leaves only after the message's transaction has
  committed, so a message received but not recorded (crash, database down) is delivered again;
- a redelivered message carries the same device message id and is recorded once.

Threads: paho's network thread only puts messages on a queue; the thread that calls
`Listener.run()` (the management command's main thread, or a test's) records them in batches, one
transaction per batch, so every database connection lives in that one thread.
"""

import json
import logging
import queue
import re
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

import paho.mqtt.client as mqtt
from django.conf import settings
from django.db import (
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)
from django.utils import timezone
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from wangge.care.actions import ALARM_CATEGORY, Outcome, record_device_message
from wangge.care.models import Device, DeviceEvent, DeviceKind, RejectedMessage

log = logging.getLogger("wangge.devices")

MESSAGE_TYPES = ("alarm", "open", "close", "heartbeat", "battery", "test")
MAX_ID_LENGTH = 64  # DeviceEvent.message_id
# A device clock this far ahead is wrong: trusting it would keep the device "seen" into the future.
MAX_CLOCK_AHEAD = timedelta(hours=1)
# Kept of a rejected payload, for whoever looks into it.
MAX_REJECTED_PAYLOAD = 4000


# --- configuration ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BrokerConfig:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str = ""
    password: str = ""
    tls: bool = False
    ca_file: str = ""
    # Fixed, so that the broker keeps this listener's session (and its queued messages) across
    # restarts. Two listeners must not share one id: the broker would drop one for the other.
    client_id: str = "wangge-devices"
    topic: str = "wangge/devices/+/events"
    # How long the broker keeps the session while the listener is away (seconds).
    session_expiry: int = 7 * 24 * 3600
    keepalive: int = 30

    @classmethod
    def from_settings(cls, **overrides) -> "BrokerConfig":
        def get(name, default):
            return getattr(settings, f"WANGGE_MQTT_{name}", default)

        values = {
            "host": get("HOST", cls.host),
            "port": int(get("PORT", cls.port)),
            "username": get("USERNAME", cls.username),
            "password": get("PASSWORD", cls.password),
            "tls": bool(get("TLS", cls.tls)),
            "ca_file": get("CA_FILE", cls.ca_file),
            "client_id": get("CLIENT_ID", cls.client_id),
            "topic": get("TOPIC", cls.topic),
            "session_expiry": int(get("SESSION_EXPIRY", cls.session_expiry)),
        }
        values.update(overrides)
        return cls(**values)


def topic_pattern(topic_filter: str) -> re.Pattern:
    """The regular expression for a topic filter with exactly one `+`, which stands for the
    device's serial: `wangge/devices/+/events` → `^wangge/devices/([^/]+)/events$`."""
    levels = topic_filter.split("/")
    if levels.count("+") != 1 or "#" in topic_filter:
        raise ValueError(f"the device topic needs exactly one + (the serial): {topic_filter!r}")
    parts = ["([^/]+)" if level == "+" else re.escape(level) for level in levels]
    return re.compile("^" + "/".join(parts) + "$")


def device_topic(serial: str, topic_filter: str | None = None) -> str:
    """Where the device `serial` publishes."""
    topic_filter = topic_filter or BrokerConfig.from_settings().topic
    return topic_filter.replace("+", serial, 1)


# --- validation ---------------------------------------------------------------------------------


class Rejected(Exception):
    """A message that cannot be recorded, with the reason kept and logged."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class DeviceMessage:
    serial: str
    message_id: str
    kind: str
    occurred_at: datetime
    battery: int | None
    payload: dict


def parse_message(
    topic: str, raw: bytes | str, *, now: datetime, pattern: re.Pattern | None = None
) -> DeviceMessage:
    """Validate a message as received; raises Rejected with the reason. The device itself is
    looked up by the caller."""
    pattern = pattern or topic_pattern(BrokerConfig.from_settings().topic)
    match = pattern.match(topic)
    if match is None:
        raise Rejected(f"topic does not match {pattern.pattern}")
    serial = match.group(1)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Rejected(f"not JSON: {exc}") from None
    # PostgreSQL stores no NUL character, in text or in jsonb; no device has a reason to send one.
    if "\\u0000" in (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw):
        raise Rejected("contains a NUL character")
    if not isinstance(body, dict):
        raise Rejected("not a JSON object")
    message_id = body.get("id")
    if isinstance(message_id, int) and not isinstance(message_id, bool):
        message_id = str(message_id)
    if not isinstance(message_id, str) or not message_id.strip():
        raise Rejected("missing id")
    if len(message_id) > MAX_ID_LENGTH:
        raise Rejected(f"id longer than {MAX_ID_LENGTH} characters")
    kind = body.get("type")
    if kind not in MESSAGE_TYPES:
        raise Rejected(f"unknown type {kind!r} (one of {', '.join(MESSAGE_TYPES)})")
    occurred_at = now
    if body.get("at") is not None:
        occurred_at = _parse_time(body["at"])
        if occurred_at > now + MAX_CLOCK_AHEAD:
            raise Rejected(f"time {body['at']} is in the future")
    battery = body.get("battery")
    if battery is not None and (
        isinstance(battery, bool) or not isinstance(battery, int | float) or not 0 <= battery <= 100
    ):
        raise Rejected("battery must be a number from 0 to 100")
    if kind == "battery" and battery is None:
        raise Rejected("a battery report without a battery level")
    if "data" in body and not isinstance(body["data"], dict):
        raise Rejected("data must be a JSON object")
    return DeviceMessage(
        serial=serial,
        message_id=message_id.strip(),
        kind=kind,
        occurred_at=occurred_at,
        battery=None if battery is None else round(battery),
        payload=body,
    )


def _parse_time(value) -> datetime:
    if not isinstance(value, str):
        raise Rejected("at must be an ISO 8601 string")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Rejected(f"at is not an ISO 8601 time: {value[:40]!r}") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise Rejected("at has no UTC offset")
    return moment


# --- handling one message -----------------------------------------------------------------------


class DeviceDirectory:
    """Serial → active device, remembered for `ttl` seconds: the listener looks a device up for
    every message, and devices are registered far more rarely than they speak. A device
    registered or deactivated meanwhile counts within `ttl`."""

    def __init__(self, ttl: float = 30.0):
        self.ttl = ttl
        self._known: dict[str, tuple[float, Device | None]] = {}

    def get(self, serial: str) -> Device | None:
        now = time.monotonic()
        hit = self._known.get(serial)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        device = Device.objects.filter(serial=serial, active=True).first()
        # An unknown serial is not remembered: it may be registered any minute.
        if device is not None:
            self._known[serial] = (now, device)
        return device

    def forget(self) -> None:
        self._known.clear()


@dataclass
class Handled:
    """What became of one message: recorded, duplicate (the same id again) or rejected."""

    status: str
    outcome: Outcome | None = None
    reason: str = ""


def _validate(
    topic: str, raw: bytes | str, *, now: datetime, pattern, directory
) -> tuple[DeviceMessage, Device]:
    message = parse_message(topic, raw, now=now, pattern=pattern)
    device = (
        directory.get(message.serial)
        if directory is not None
        else Device.objects.filter(serial=message.serial, active=True).first()
    )
    if device is None:
        raise Rejected(f"unknown or inactive device {message.serial[:64]!r}")
    return message, device


def _record_one(device: Device, message: DeviceMessage, now: datetime) -> Handled:
    outcome = record_device_message(
        device,
        message_id=message.message_id,
        kind=message.kind,
        occurred_at=message.occurred_at,
        payload=message.payload,
        battery=message.battery,
        now=now,
    )
    return Handled("duplicate" if outcome.duplicate else "recorded", outcome=outcome)


def handle_message(
    topic: str,
    raw: bytes | str,
    *,
    now: datetime | None = None,
    pattern: re.Pattern | None = None,
    directory: DeviceDirectory | None = None,
) -> Handled:
    """Validate one message and record it, or keep it as rejected. Database errors are raised
    (the caller retries; the message is not acknowledged meanwhile)."""
    now = now or timezone.now()
    try:
        message, device = _validate(topic, raw, now=now, pattern=pattern, directory=directory)
    except Rejected as exc:
        reject(topic, raw, exc.reason)
        return Handled("rejected", reason=exc.reason)
    return _record_one(device, message, now)


def _has_consequences(device: Device, kind: str) -> bool:
    """Whether `record_device_message` does more than keep the event, last seen and battery:
    an alarm of a button or smoke alarm (a case), a watched door's opening (a check-in)."""
    if kind == "alarm":
        return device.kind in ALARM_CATEGORY
    return kind == "open" and device.kind == DeviceKind.DOOR and device.resident_id is not None


def handle_batch(
    items: list[tuple[str, bytes | str]],
    *,
    now: datetime | None = None,
    pattern: re.Pattern | None = None,
    directory: DeviceDirectory | None = None,
) -> list[Handled]:
    """`handle_message` for many messages at once, inside the caller's transaction, with the
    same result. A device whose messages in the batch include an alarm or a watched door's
    opening has all of them recorded one by one, in order, by `record_device_message`. The
    others (heartbeats, battery reports, most door events: nearly all traffic) are recorded
    together: one read of the ids already kept, one locked read of their devices, one INSERT of
    the events, one UPDATE of last seen, battery and the offline mark."""
    now = now or timezone.now()
    results: list[Handled | None] = [None] * len(items)
    valid: list[tuple[int, DeviceMessage, Device]] = []
    for i, (topic, raw) in enumerate(items):
        try:
            message, device = _validate(topic, raw, now=now, pattern=pattern, directory=directory)
        except Rejected as exc:
            reject(topic, raw, exc.reason)
            results[i] = Handled("rejected", reason=exc.reason)
            continue
        valid.append((i, message, device))
    one_by_one = {d.pk for _i, m, d in valid if _has_consequences(d, m.kind)}
    plain = [(i, m, d) for i, m, d in valid if d.pk not in one_by_one]
    for i, handled in _record_plain(plain):
        results[i] = handled
    for i, message, device in valid:
        if device.pk in one_by_one:
            results[i] = _record_one(device, message, now)
    return results


def _record_plain(plain: list[tuple[int, DeviceMessage, Device]]):
    """What `record_device_message` does for messages without consequences, in four queries."""
    if not plain:
        return []
    device_ids = sorted({d.pk for _i, _m, d in plain})
    kept = set(
        DeviceEvent.objects.filter(
            device_id__in=device_ids, message_id__in={m.message_id for _i, m, _d in plain}
        ).values_list("device_id", "message_id")
    )
    handled, events = [], []
    for i, message, device in plain:
        key = (device.pk, message.message_id)
        if key in kept:
            handled.append((i, Handled("duplicate", outcome=Outcome(event=None, duplicate=True))))
            continue
        kept.add(key)
        event = DeviceEvent(
            device_id=device.pk,
            kind=message.kind,
            message_id=message.message_id,
            occurred_at=message.occurred_at,
            payload=message.payload,
        )
        events.append((message, event))
        handled.append((i, Handled("recorded", outcome=Outcome(event=event))))
    if not events:
        return handled
    # Locked in id order, as `record_device_message` locks its one device.
    devices = {
        d.pk: d
        for d in Device.objects.select_for_update()
        .filter(pk__in=device_ids)
        .order_by("pk")
        .only("pk", "last_seen_at", "battery", "offline_since")
    }
    DeviceEvent.objects.bulk_create([event for _m, event in events])
    changed = {}
    for message, event in events:  # in order: the last battery level wins
        device = devices[event.device_id]
        if device.last_seen_at is None or message.occurred_at > device.last_seen_at:
            device.last_seen_at = message.occurred_at
            changed[device.pk] = device
        if message.battery is not None and device.battery != message.battery:
            device.battery = message.battery
            changed[device.pk] = device
        if device.offline_since is not None:
            device.offline_since = None
            changed[device.pk] = device
    if changed:
        _update_devices(list(changed.values()))
    return handled


def _update_devices(devices: list[Device]) -> None:
    """Write last seen, battery and the offline mark of many devices in one statement."""
    if connection.vendor == "postgresql":
        # Django's bulk_update builds a CASE per field and row in Python: slower than recording
        # the messages. One UPDATE joined to arrays does the same in PostgreSQL.
        table = Device._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS d SET last_seen_at = v.seen, battery = v.battery,"  # noqa: S608
                " offline_since = NULL"
                " FROM unnest(%s::bigint[], %s::timestamptz[], %s::smallint[])"
                " AS v(id, seen, battery)"
                " WHERE d.id = v.id",
                [
                    [d.pk for d in devices],
                    [d.last_seen_at for d in devices],
                    [d.battery for d in devices],
                ],
            )
    else:
        Device.objects.bulk_update(devices, ["last_seen_at", "battery", "offline_since"])


def reject(topic: str, raw: bytes | str, reason: str) -> RejectedMessage:
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
    text = text.replace("\x00", "\ufffd")  # PostgreSQL keeps no NUL in text
    log.warning("device message rejected on %s: %s", topic[:200], reason)
    return RejectedMessage.objects.create(
        topic=topic[:200], payload=text[:MAX_REJECTED_PAYLOAD], reason=reason[:300]
    )


# --- the listener -------------------------------------------------------------------------------


@dataclass
class Stats:
    received: int = 0
    recorded: int = 0
    duplicates: int = 0
    rejected: int = 0
    failed: int = 0  # raised while recording: kept as rejected, for a person to look at
    cases_opened: int = 0
    cases_joined: int = 0
    batches: int = 0
    connects: int = 0
    disconnects: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def done(self) -> int:
        return self.recorded + self.duplicates + self.rejected + self.failed

    def as_dict(self) -> dict:
        counts = asdict(self)
        counts.pop("started")
        return counts

    def line(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.as_dict().items())


_CONNECTION_ERRORS = (OperationalError, InterfaceError)


def _drop_connection() -> None:
    # As Django does around a request; never inside a transaction (a test runs in one).
    if not connection.in_atomic_block:
        close_old_connections()
        connection.close()


class Listener:
    """Subscribe to the device topic and record every message.

    `run()` blocks and records in the calling thread until `stop()` (from any thread or a signal
    handler) or, with `idle_seconds`, until no message came for that long."""

    def __init__(
        self,
        config: BrokerConfig | None = None,
        *,
        batch_size: int = 500,
        receive_maximum: int = 1000,
        reconnect_delay: tuple[int, int] = (1, 30),
        retry_delay: tuple[float, float] = (0.5, 30.0),
    ):
        self.config = config or BrokerConfig.from_settings()
        self.pattern = topic_pattern(self.config.topic)
        self.batch_size = batch_size
        self.receive_maximum = receive_maximum
        self.reconnect_delay = reconnect_delay
        self.retry_delay = retry_delay
        self.stats = Stats()
        self.directory = DeviceDirectory()
        self.inbox: queue.Queue[tuple[int, mqtt.MQTTMessage]] = queue.Queue()
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self._stopping = threading.Event()
        self._generation = 0  # one per connection: an ack only goes back on the same one
        self._client: mqtt.Client | None = None
        self._last_activity = time.monotonic()

    # paho's network thread ------------------------------------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.error("MQTT broker refused the connection: %s", reason_code)
            return
        self._generation += 1
        self.stats.connects += 1
        log.info(
            "connected to MQTT %s:%s as %s (session %s)",
            self.config.host,
            self.config.port,
            self.config.client_id,
            "resumed" if flags.session_present else "new",
        )
        self.connected.set()
        # Also when the session was resumed: subscribing again is harmless and covers a broker
        # that lost its persistence.
        client.subscribe(self.config.topic, qos=1)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        if any(code.is_failure for code in reason_codes):
            log.error("MQTT subscription to %s refused: %s", self.config.topic, reason_codes)
            return
        self.subscribed.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self.connected.clear()
        self.subscribed.clear()
        if not self._stopping.is_set():
            self.stats.disconnects += 1
            log.warning("MQTT connection lost (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, message):
        self.inbox.put((self._generation, message))

    # the recording thread -------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background (retrying with backoff until the broker answers)."""
        if self._client is not None:
            return
        cfg = self.config
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=cfg.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        if cfg.username:
            client.username_pw_set(cfg.username, cfg.password or None)
        if cfg.tls:
            client.tls_set(ca_certs=cfg.ca_file or None)
        client.reconnect_delay_set(*self.reconnect_delay)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = cfg.session_expiry
        # At most this many unacknowledged messages in flight towards us.
        props.ReceiveMaximum = self.receive_maximum
        client.connect_async(
            cfg.host, cfg.port, keepalive=cfg.keepalive, clean_start=False, properties=props
        )
        client.loop_start()
        self._client = client

    def stop(self) -> None:
        self._stopping.set()

    def close(self) -> None:
        """Disconnect, keeping the session: what arrives meanwhile waits at the broker."""
        self._stopping.set()
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()
        self.connected.clear()
        self.subscribed.clear()

    def run(self, *, idle_seconds: float | None = None, on_stats=None, every: float = 60.0):
        """Record messages until stopped, or until `idle_seconds` passed without one. Calls
        `on_stats(stats)` every `every` seconds when something happened."""
        self.start()
        self._last_activity = last_report = time.monotonic()
        reported = self.stats.done
        try:
            while not self._stopping.is_set():
                batch = self._take_batch(timeout=0.5)
                if batch:
                    self._last_activity = time.monotonic()
                    self._record(batch)
                elif idle_seconds is not None and (
                    time.monotonic() - self._last_activity >= idle_seconds
                ):
                    break
                if on_stats and time.monotonic() - last_report >= every:
                    last_report = time.monotonic()
                    if self.stats.done != reported:
                        reported = self.stats.done
                        on_stats(self.stats)
        finally:
            self.close()
            _drop_connection()
        return self.stats

    def _take_batch(self, timeout: float) -> list[tuple[int, mqtt.MQTTMessage]]:
        try:
            batch = [self.inbox.get(timeout=timeout)]
        except queue.Empty:
            return []
        while len(batch) < self.batch_size:
            try:
                batch.append(self.inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def _record(self, batch: list[tuple[int, mqtt.MQTTMessage]]) -> None:
        """Record a batch in one transaction, then acknowledge it. While the database is away the
        batch is retried with backoff and nothing is acknowledged; a message that fails by itself
        is kept as rejected (with the error) so that it cannot block the others."""
        self.stats.received += len(batch)
        delay = self.retry_delay[0]
        while True:
            try:
                results = self._record_together(batch)
                break
            except _CONNECTION_ERRORS:
                log.exception("database unavailable; retrying %s messages", len(batch))
            except Exception:
                log.exception("a batch of device messages failed; recording one by one")
                try:
                    results = [self._record_alone(generation_msg) for generation_msg in batch]
                    break
                except _CONNECTION_ERRORS:
                    log.exception("database unavailable; retrying %s messages", len(batch))
            _drop_connection()
            self.directory.forget()
            if self._stopping.wait(delay):
                # Not acknowledged: the broker delivers them again on the next connection.
                self.stats.received -= len(batch)
                return
            delay = min(delay * 2, self.retry_delay[1])
        for handled in results:
            self._count(handled)
        self.stats.batches += 1
        self._ack(batch)

    def _record_together(self, batch) -> list[Handled]:
        with transaction.atomic():
            return handle_batch(
                [(message.topic, message.payload) for _generation, message in batch],
                pattern=self.pattern,
                directory=self.directory,
            )

    def _record_alone(self, generation_msg) -> Handled:
        _generation, message = generation_msg
        try:
            with transaction.atomic():
                return self._handle(message)
        except _CONNECTION_ERRORS:
            raise
        except Exception as exc:
            log.exception("device message on %s could not be recorded", message.topic)
            try:
                with transaction.atomic():
                    reject(message.topic, message.payload, f"could not record: {exc!r}")
            except _CONNECTION_ERRORS:
                raise
            except Exception:
                # The log above keeps it; the listener goes on.
                log.exception("could not keep it either: %r", message.payload[:4000])
            return Handled("failed", reason=str(exc))

    def _handle(self, message: mqtt.MQTTMessage) -> Handled:
        return handle_message(
            message.topic, message.payload, pattern=self.pattern, directory=self.directory
        )

    def _count(self, handled: Handled) -> None:
        if handled.status == "recorded":
            self.stats.recorded += 1
            outcome = handled.outcome
            if outcome.case is not None:
                if outcome.joined:
                    self.stats.cases_joined += 1
                else:
                    self.stats.cases_opened += 1
        elif handled.status == "duplicate":
            self.stats.duplicates += 1
        elif handled.status == "rejected":
            self.stats.rejected += 1
        else:
            self.stats.failed += 1

    def _ack(self, batch) -> None:
        client = self._client
        if client is None:
            return
        for generation, message in batch:
            # A message from an earlier connection is delivered again on this one (and then
            # recognised by its id); its packet id means nothing here.
            if message.qos and generation == self._generation:
                client.ack(message.mid, message.qos)


def forget_session(config: BrokerConfig) -> None:
    """End the listener's session at the broker (queued messages are dropped): for tests and
    for retiring a client id."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=config.client_id, protocol=5)
    if config.username:
        client.username_pw_set(config.username, config.password or None)
    if config.tls:
        client.tls_set(ca_certs=config.ca_file or None)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 0
    client.connect(config.host, config.port, clean_start=True, properties=props)
    client.loop_start()
    try:
        deadline = time.monotonic() + 10
        while not client.is_connected() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        client.disconnect()
        client.loop_stop()
