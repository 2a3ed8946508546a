"""`wangge devices listen | simulate | status`: the 智能守护 home devices over MQTT.

- `listen [--once-idle S]` records every device message from the broker (see docs/devices.md)
  until SIGTERM or SIGINT; `--once-idle` stops after S seconds without a message (tests, cron).
- `simulate [--devices N] [--rate R] [--seconds S] [--alarm-share P]` publishes realistic traffic
  for the registered devices: heartbeats, door openings (more in the morning check-in windows),
  battery reports, and now and then an alarm that the device repeats. Without any device it
  first installs a few demo devices in households of the demo county.
- `status` lists the devices with when each was last seen, its battery and whether it is offline.
"""

import json
import random
import signal
import threading
import time
import uuid
from collections import Counter
from datetime import time as clock
from datetime import timedelta

import paho.mqtt.client as mqtt
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from paho.mqtt.enums import CallbackAPIVersion

from wangge.care.models import Device, DeviceKind, Enrolment, RejectedMessage
from wangge.care.mqtt import BrokerConfig, Listener, device_topic
from wangge.grids.models import GridCell, GridLevel
from wangge.people.models import Household

# Most people open the door for the first time between these (窗帘之约 windows are similar).
MORNING = (clock(6, 0), clock(9, 0))
DEMO_HOUSEHOLDS = 6


def _positive(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError(raw)
    return value


def _share(raw: str) -> float:
    value = float(raw)
    if not 0 <= value <= 1:
        raise ValueError(raw)
    return value


class Command(BaseCommand):
    help = "Home devices over MQTT: listen to the broker, simulate traffic, or list devices."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        listen = sub.add_parser("listen", help="record device messages until SIGTERM/SIGINT")
        listen.add_argument(
            "--once-idle",
            type=_positive,
            default=None,
            metavar="SECONDS",
            help="exit after this many seconds without a message",
        )
        listen.add_argument(
            "--batch-size",
            type=int,
            default=500,
            help="messages recorded in one transaction at most (default %(default)s)",
        )
        sim = sub.add_parser("simulate", help="publish realistic traffic for the devices")
        sim.add_argument(
            "--devices", type=int, default=0, help="use at most N devices (default: all)"
        )
        sim.add_argument("--rate", type=_positive, default=5.0, help="messages per second")
        sim.add_argument("--seconds", type=_positive, default=60.0, help="how long to publish")
        sim.add_argument(
            "--alarm-share",
            type=_share,
            default=0.01,
            help="share of messages that are a new alarm (default %(default)s)",
        )
        sim.add_argument("--seed", type=int, default=None, help="random seed, for a rerun")
        sub.add_parser("status", help="list devices: last seen, battery, offline")

    def handle(self, *args, subcommand, **options):
        self.verbosity = options.get("verbosity", 1)
        {"listen": self.listen, "simulate": self.simulate, "status": self.status}[subcommand](
            **options
        )

    # --- listen -----------------------------------------------------------------------------

    def listen(self, *, once_idle, batch_size, **options):
        listener = Listener(batch_size=batch_size)
        cfg = listener.config
        if threading.current_thread() is threading.main_thread():

            def stop(signum, frame):
                self.stderr.write(f"{signal.strsignal(signum)}: stopping")
                listener.stop()

            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, stop)
        if self.verbosity >= 1:
            self.stdout.write(
                _("Listening on %(topic)s at %(host)s:%(port)s as %(client)s")
                % {"topic": cfg.topic, "host": cfg.host, "port": cfg.port, "client": cfg.client_id}
            )
        stats = listener.run(
            idle_seconds=once_idle,
            on_stats=lambda s: self.stdout.write(s.line()) if self.verbosity >= 1 else None,
        )
        if self.verbosity >= 1:
            self.stdout.write(stats.line())

    # --- simulate ---------------------------------------------------------------------------

    def simulate(self, *, devices, rate, seconds, alarm_share, seed, **options):
        rng = random.Random(seed)  # noqa: S311 (traffic, not secrets)
        chosen = list(
            Device.objects.filter(active=True).select_related("household").order_by("serial")
        )
        if not chosen:
            chosen = install_demo_devices(rng)
            households = len({d.household_id for d in chosen})
            self.stdout.write(
                _("No devices yet: installed %(n)s demo devices in %(h)s households.")
                % {"n": len(chosen), "h": households}
            )
        if devices:
            chosen = chosen[:devices]
        cfg = BrokerConfig.from_settings()
        sim = Simulation(chosen, rng=rng, alarm_share=alarm_share)
        client = _publisher(cfg)
        sent: Counter = Counter()
        infos = []
        try:
            start = time.monotonic()
            total = max(1, round(rate * seconds))
            for i in range(total):
                time.sleep(max(0.0, start + i / rate - time.monotonic()))
                for serial, payload in sim.next_messages(timezone.now()):
                    infos.append(
                        client.publish(device_topic(serial, cfg.topic), json.dumps(payload), qos=1)
                    )
                    sent[payload["type"]] += 1
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not {i.mid for i in infos} <= client.acked:
                time.sleep(0.05)
            unacked = len({i.mid for i in infos} - client.acked)
        finally:
            client.disconnect()
            client.loop_stop()
        self.stdout.write(
            _("Published %(n)s messages for %(d)s devices to %(host)s:%(port)s: %(kinds)s")
            % {
                "n": sum(sent.values()),
                "d": len(chosen),
                "host": cfg.host,
                "port": cfg.port,
                "kinds": ", ".join(f"{k}={v}" for k, v in sorted(sent.items())),
            }
        )
        if unacked:
            raise CommandError(
                _("%(n)s messages were not acknowledged by the broker.") % {"n": unacked}
            )

    # --- status -----------------------------------------------------------------------------

    def status(self, **options):
        now = timezone.now()
        rows = Device.objects.select_related("household__cell").order_by("household__cell__path")
        header = [_("Serial"), _("Kind"), _("Household"), _("Last seen"), _("Battery"), _("State")]
        table = [header]
        for d in rows:
            if not d.active:
                state = _("retired")
            elif d.offline_since:
                state = _("offline since %(time)s") % {
                    "time": timezone.localtime(d.offline_since).strftime("%Y-%m-%d %H:%M")
                }
            elif d.last_seen_at is None:
                state = _("never seen")
            else:
                state = _("online")
            seen = (
                timezone.localtime(d.last_seen_at).strftime("%Y-%m-%d %H:%M:%S")
                if d.last_seen_at
                else "—"
            )
            battery = f"{d.battery}%" if d.battery is not None else "—"
            table.append(
                [d.serial, d.get_kind_display(), str(d.household), seen, battery, str(state)]
            )
        if len(table) == 1:
            self.stdout.write(_("No devices are registered."))
            return
        widths = [max(_width(row[i]) for row in table) for i in range(len(header))]
        for row in table:
            cells = zip(row, widths, strict=True)
            self.stdout.write("  ".join(cell + " " * (w - _width(cell)) for cell, w in cells))
        rejected = RejectedMessage.objects.filter(received_at__gte=now - timedelta(days=1)).count()
        self.stdout.write(
            _("%(n)s devices; %(r)s messages rejected in the last 24 hours.")
            % {"n": len(table) - 1, "r": rejected}
        )


def _width(text: str) -> int:
    # Chinese characters take two columns in a terminal.
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _publisher(cfg: BrokerConfig) -> mqtt.Client:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"wangge-simulator-{uuid.uuid4().hex[:8]}"
    )
    client.acked = set()
    client.on_publish = lambda c, userdata, mid, reason, props: c.acked.add(mid)
    if cfg.username:
        client.username_pw_set(cfg.username, cfg.password or None)
    if cfg.tls:
        client.tls_set(ca_certs=cfg.ca_file or None)
    client.reconnect_delay_set(1, 10)
    client.connect_async(cfg.host, cfg.port)
    client.loop_start()
    return client


@transaction.atomic
def install_demo_devices(rng: random.Random) -> list[Device]:
    """A door sensor, a smoke alarm and an emergency button in a few households; demo
    households are added in the first grids when the registry has none."""
    households = list(Household.objects.order_by("id")[:DEMO_HOUSEHOLDS])
    if not households:
        grids = list(GridCell.objects.filter(level=GridLevel.GRID).order_by("path"))
        if not grids:
            raise CommandError(_("There are no grids: load the demo first (wangge demo)."))
        for i in range(DEMO_HOUSEHOLDS):
            grid = grids[i % len(grids)]
            household, _created = Household.objects.get_or_create(
                cell=grid,
                door=f"演示-{i + 1:02d}",
                defaults={"address": f"{grid.name}幸福小区{i + 1}栋"},
            )
            households.append(household)
    made = []
    for n, household in enumerate(households, start=1):
        resident = household.residents.order_by("id").first()
        for kind, prefix, heartbeat in (
            (DeviceKind.DOOR, "DOOR", 3600),
            (DeviceKind.SMOKE, "SMOKE", 3600),
            (DeviceKind.BUTTON, "BTN", 3600 * 6),
        ):
            device, _created = Device.objects.get_or_create(
                serial=f"DEMO-{prefix}-{n:04d}",
                defaults={
                    "kind": kind,
                    "household": household,
                    "resident": resident if kind == DeviceKind.DOOR else None,
                    "heartbeat_seconds": heartbeat,
                    "battery": rng.randint(60, 100),
                },
            )
            made.append(device)
    return made


class Simulation:
    """What a set of real devices would send, one step at a time: mostly heartbeats; door
    openings and closings, far more often in the morning (or in the resident's check-in window);
    battery reports as the level drains; and, at `alarm_share`, an alarm from a button or smoke
    alarm, which the device then repeats (new ids) and resends (the same id), as real ones do."""

    def __init__(self, devices: list[Device], *, rng: random.Random, alarm_share: float):
        self.devices = devices
        self.rng = rng
        self.alarm_share = alarm_share
        self.alarmers = [d for d in devices if d.kind in (DeviceKind.BUTTON, DeviceKind.SMOKE)]
        self.battery = {d.serial: d.battery if d.battery is not None else 100 for d in devices}
        self.windows = {
            e.resident_id: (e.window_start, e.window_end)
            for e in Enrolment.objects.filter(active=True)
        }
        self.door_open: dict[str, bool] = {}
        self.pending: list[tuple[str, dict | None]] = []  # an alarm's repeats, sent later

    def _message(self, serial: str, kind: str, now, **extra) -> dict:
        return {
            "id": f"{serial}-{uuid.UUID(int=self.rng.getrandbits(128)).hex[:16]}",
            "type": kind,
            "at": timezone.localtime(now).isoformat(timespec="seconds"),
            **extra,
        }

    def next_messages(self, now) -> list[tuple[str, dict]]:
        rng = self.rng
        if self.pending and rng.random() < 0.5:
            serial, payload = self.pending.pop(0)
            if payload is None:  # still going off: a new message
                payload = self._message(serial, "alarm", now, data={"repeat": True})
            return [(serial, payload)]
        if self.alarmers and rng.random() < self.alarm_share:
            device = rng.choice(self.alarmers)
            alarm = self._message(device.serial, "alarm", now, data={"source": "simulator"})
            self.pending.append((device.serial, alarm))  # sent again: the same id
            self.pending.extend((device.serial, None) for _i in range(rng.randint(1, 3)))
            return [(device.serial, alarm)]
        device = rng.choice(self.devices)
        serial = device.serial
        if rng.random() < 0.05:
            self.battery[serial] = max(0, self.battery[serial] - rng.randint(0, 2))
            return [(serial, self._message(serial, "battery", now, battery=self.battery[serial]))]
        if device.kind == DeviceKind.DOOR:
            start, end = self.windows.get(device.resident_id, MORNING)
            busy = start <= timezone.localtime(now).time() <= end
            if rng.random() < (0.6 if busy else 0.2):
                opened = not self.door_open.get(serial, False)
                self.door_open[serial] = opened
                return [(serial, self._message(serial, "open" if opened else "close", now))]
        return [(serial, self._message(serial, "heartbeat", now, battery=self.battery[serial]))]
