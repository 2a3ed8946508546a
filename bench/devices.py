"""Devices bench: MQTT messages per second from the broker to recorded events and cases.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/wangge_test .venv/bin/python bench/devices.py

Creates a fresh PostgreSQL database (default wangge_bench_devices) on the server of DATABASE_URL,
migrates it, builds the demo world and installs `--devices` devices (door sensors, smoke alarms,
emergency buttons) in households across its grids. Starts a private Mosquitto on a free port
(the shared one is not touched) and the listener (`wangge.care.mqtt.Listener`, the code of
`wangge devices listen`) in a child process with production settings, the dedup window on
(`WANGGE_DEVICE_DEDUP_MINUTES`=10). Traffic: mostly heartbeats and door openings, some battery
reports, and `--alarm-share` new alarms, each followed by the same message again (QoS 1
redelivery) and `--repeats` new alarms of the same device (which join its case).

Three phases, each with its own messages:

- backlog: the messages are published while the listener is away (its persistent session keeps
  them at the broker); the clock runs from its start until all are recorded. Nothing else
  competes for the two CPUs: the listener's own throughput.
- live: published as fast as the publishers can while the listener runs; from the first publish
  until all are recorded.
- paced: published at `--rate` per second for `--seconds` while the listener runs: whether it
  keeps up (the lag after the last publish, and the recorded rate second by second).

Prints a table and writes bench/results/devices.json. Target: ≥ 1,000 events/s sustained.
"""

import argparse
import getpass
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
from intake import (
    count_rows,
    database_url,
    drop_database,
    free_port,
    fresh_database,
    git_commit,
    server_env,
    with_db,
)
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "devices.json"
PYTHON = sys.executable
TARGET_PER_SECOND = 1000.0
TOPIC = "wangge/devices/+/events"

# Run inside the bench database by a child Python: world, households and devices.
SETUP = """
import json, django
django.setup()
from wangge.care.models import Device, DeviceKind
from wangge.grids.models import GridCell, GridLevel
from wangge.people.models import Household
from wangge.world import build_world
build_world(townships={townships})
grids = list(GridCell.objects.filter(level=GridLevel.GRID).order_by("path"))
kinds = [DeviceKind.DOOR, DeviceKind.SMOKE, DeviceKind.BUTTON]
homes = Household.objects.bulk_create([
    Household(cell=grids[i % len(grids)], address=f"bench-{{i}}", door=f"{{i}}")
    for i in range({devices} // 3 + 1)
])
devices = Device.objects.bulk_create([
    Device(serial=f"BENCH-{{i:05d}}", kind=kinds[i % 3], household=homes[i // 3])
    for i in range({devices})
])
print(json.dumps([[d.serial, d.kind] for d in devices]))
"""

# The listener in a child Python. READY once connected and subscribed; stats as JSON at the end.
LISTEN = """
import json, signal, sys, time, django
django.setup()
from wangge.care.mqtt import BrokerConfig, Listener
cfg = BrokerConfig(port={port}, client_id={client_id!r}, topic={topic!r})
listener = Listener(cfg, batch_size={batch})
signal.signal(signal.SIGTERM, lambda *a: listener.stop())
listener.start()
if not listener.subscribed.wait(60):
    sys.exit("no subscription")
print("READY", flush=True)
if {only_subscribe}:
    listener.close()
    sys.exit(0)
stats = listener.run()
print(json.dumps(stats.as_dict()), flush=True)
"""

PROFILE = """
import cProfile, pstats, django
django.setup()
from wangge.care.mqtt import BrokerConfig, Listener
cfg = BrokerConfig(port={port}, client_id={client_id!r}, topic={topic!r})
listener = Listener(cfg, batch_size={batch})
listener.start()
listener.subscribed.wait(60)
prof = cProfile.Profile()
prof.enable()
listener.run(idle_seconds=3)
prof.disable()
print(listener.stats.line())
stats = pstats.Stats(prof)
stats.sort_stats("cumulative").print_stats(r"wangge/", 25)
stats.sort_stats("tottime").print_stats(20)
"""


class Broker:
    """A private Mosquitto: unlimited queue per session (what production should set too)."""

    def __init__(self, folder: Path):
        self.port = free_port()
        conf = folder / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence false\n"
            "max_queued_messages 0\n"
            f"user {getpass.getuser()}\n"
            "log_dest none\n"
        )
        self.proc = subprocess.Popen(["mosquitto", "-c", str(conf)])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        sys.exit("Mosquitto did not start.")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


class ListenerProcess:
    def __init__(self, env, *, port: int, client_id: str, batch: int, only_subscribe=False):
        code = LISTEN.format(
            port=port, client_id=client_id, topic=TOPIC, batch=batch, only_subscribe=only_subscribe
        )
        self.proc = subprocess.Popen(
            [PYTHON, "-c", code], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        line = self.proc.stdout.readline().strip()
        if line != "READY":
            self.proc.kill()
            sys.exit(f"The listener did not start: {line!r}")
        self.ready_at = time.perf_counter()

    def finish(self) -> dict:
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=120)
        lines = [x for x in out.strip().splitlines() if x.startswith("{")]
        return json.loads(lines[-1]) if lines else {}


class Publishers:
    """`n` paho clients sharing the load, QoS 1, many messages in flight each (as many devices
    would have). `acked` counts the broker's PUBACKs."""

    def __init__(self, port: int, n: int):
        self.acked = 0
        self.lock = threading.Lock()
        self.clients = []
        for _i in range(n):
            c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex}")
            c.max_inflight_messages_set(1000)
            c.on_publish = self._acked
            c.connect("127.0.0.1", port)
            c.loop_start()
            self.clients.append(c)

    def _acked(self, client, userdata, mid, reason, props):
        with self.lock:
            self.acked += 1

    def publish(self, messages, *, rate: float | None = None) -> tuple[float, float]:
        """Publish all; with `rate`, message i is due at start + i/rate. Returns (start, end)."""
        start = time.perf_counter()
        for i, (topic, payload) in enumerate(messages):
            if rate:
                wait = start + i / rate - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
            self.clients[i % len(self.clients)].publish(topic, payload, qos=1)
        return start, time.perf_counter()

    def wait_acked(self, total: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.acked < total and time.monotonic() < deadline:
            time.sleep(0.02)

    def close(self) -> None:
        for c in self.clients:
            c.disconnect()
            c.loop_stop()


def traffic(devices, n: int, *, rng, alarm_share: float, repeats: int, run: str):
    """`n` messages: (topic, payload); and how many distinct message ids and alarms they hold."""
    messages: list[tuple[str, bytes]] = []
    alarmers = [s for s, kind in devices if kind in ("smoke", "button")]
    now = datetime.now(UTC)
    unique = alarms = 0
    seq = 0
    while len(messages) < n:
        seq += 1
        at = (now + timedelta(milliseconds=seq)).isoformat()
        if alarmers and rng.random() < alarm_share:
            serial = rng.choice(alarmers)
            topic = TOPIC.replace("+", serial)
            first = json.dumps({"id": f"{run}-{seq}", "type": "alarm", "at": at}).encode()
            burst = [first, first]  # the same message again: a QoS 1 redelivery
            for r in range(repeats):  # still going off: new ids, within the dedup window
                burst.append(
                    json.dumps({"id": f"{run}-{seq}-r{r}", "type": "alarm", "at": at}).encode()
                )
            messages.extend((topic, raw) for raw in burst)
            unique += 1 + repeats
            alarms += 1
            continue
        serial, kind = rng.choice(devices)
        roll = rng.random()
        if roll < 0.05:
            body = {"type": "battery", "battery": rng.randint(5, 100)}
        elif kind == "door" and roll < 0.55:
            body = {"type": rng.choice(["open", "close"])}
        else:
            body = {"type": "heartbeat", "battery": rng.randint(5, 100)}
        body.update(id=f"{run}-{seq}", at=at)
        messages.append((TOPIC.replace("+", serial), json.dumps(body).encode()))
        unique += 1
    return messages, unique, alarms


class Recorded:
    """Polls the events table (one psycopg connection) until a count is reached."""

    def __init__(self, url: str):
        import psycopg

        self.conn = psycopg.connect(url, autocommit=True)

    def count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM care_deviceevent").fetchone()[0]

    def wait_for(self, target: int, *, timeout: float, samples: list | None = None) -> float:
        deadline = time.monotonic() + timeout
        while True:
            now, n = time.perf_counter(), self.count()
            if samples is not None:
                samples.append((now, n))
            if n >= target or time.monotonic() > deadline:
                return now
            time.sleep(0.02)


def phase_row(name, *, sent, unique, base, recorded_at, start, published_at, stats, alarms):
    seconds = recorded_at - start
    return {
        "phase": name,
        "messages": sent,
        "events_expected": unique,
        "events_recorded": stats.get("recorded"),
        "duplicates": stats.get("duplicates"),
        "rejected": stats.get("rejected"),
        "failed": stats.get("failed"),
        "alarm_bursts": alarms,
        "cases_opened": stats.get("cases_opened"),
        "cases_joined": stats.get("cases_joined"),
        "batches": stats.get("batches"),
        "seconds": round(seconds, 3),
        "publish_seconds": round(published_at - start, 3) if published_at else None,
        "messages_per_second": round(sent / seconds, 1) if seconds > 0 else None,
        "complete": stats.get("recorded") == unique,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--messages", type=int, default=20000, help="per phase (default 20000)")
    ap.add_argument("--devices", type=int, default=600)
    ap.add_argument("--alarm-share", type=float, default=0.002, help="new alarms per message")
    ap.add_argument("--repeats", type=int, default=2, help="new-id repeats of each alarm")
    ap.add_argument("--publishers", type=int, default=4, help="MQTT client connections")
    ap.add_argument("--batch", type=int, default=500, help="listener batch size")
    ap.add_argument("--rate", type=float, default=1000.0, help="paced phase, messages/s")
    ap.add_argument("--seconds", type=float, default=20.0, help="paced phase length")
    ap.add_argument("--townships", type=int, default=2)
    ap.add_argument("--db", default="wangge_bench_devices")
    ap.add_argument("--keep-db", action="store_true")
    ap.add_argument("--profile", action="store_true", help="cProfile the listener on a backlog")
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args()
    if shutil.which("mosquitto") is None:
        sys.exit("Mosquitto is needed (apt-get install mosquitto).")

    base = database_url()
    load_before = os.getloadavg()
    db_url = with_db(base, args.db)
    fresh_database(base, args.db)
    env = server_env(db_url)
    env["WANGGE_DEVICE_DEDUP_MINUTES"] = "10"
    rng = random.Random(11)
    folder = Path(tempfile.mkdtemp(prefix="wangge-bench-mqtt-"))
    broker = None
    rows = []
    try:
        subprocess.run(
            [PYTHON, "-m", "django", "migrate", "-v", "0"], env=env, cwd=ROOT, check=True
        )
        out = subprocess.run(
            [PYTHON, "-c", SETUP.format(townships=args.townships, devices=args.devices)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if out.returncode:
            sys.exit(f"Setup failed:\n{out.stderr}")
        devices = json.loads(out.stdout.strip().splitlines()[-1])
        broker = Broker(folder)
        client_id = f"bench-listener-{uuid.uuid4().hex[:8]}"
        recorded = Recorded(db_url)
        pubs = Publishers(broker.port, args.publishers)
        common = {"port": broker.port, "client_id": client_id, "batch": args.batch}
        total_unique = 0
        try:
            # Warm-up, unmeasured: connections, caches, the first cases' categories.
            warm, unique, _a = traffic(
                devices, 500, rng=rng, alarm_share=args.alarm_share, repeats=args.repeats, run="w"
            )
            listener = ListenerProcess(env, **common)
            pubs.publish(warm)
            total_unique += unique
            recorded.wait_for(total_unique, timeout=120)
            listener.finish()

            # 1. Backlog: published while the listener is away, then drained.
            msgs, unique, alarms = traffic(
                devices,
                args.messages,
                rng=rng,
                alarm_share=args.alarm_share,
                repeats=args.repeats,
                run="b",
            )
            before = pubs.acked
            pubs.publish(msgs)
            pubs.wait_acked(before + len(msgs))
            if args.profile:
                subprocess.run(
                    [PYTHON, "-c", PROFILE.format(topic=TOPIC, **common)],
                    env=env,
                    cwd=ROOT,
                    check=True,
                )
                return 0
            listener = ListenerProcess(env, **common)
            total_unique += unique
            done = recorded.wait_for(total_unique, timeout=600)
            stats = listener.finish()
            rows.append(
                phase_row(
                    "backlog",
                    sent=len(msgs),
                    unique=unique,
                    base=0,
                    recorded_at=done,
                    start=listener.ready_at,
                    published_at=None,
                    stats=stats,
                    alarms=alarms,
                )
            )

            # 2. Live, unpaced.
            msgs, unique, alarms = traffic(
                devices,
                args.messages,
                rng=rng,
                alarm_share=args.alarm_share,
                repeats=args.repeats,
                run="l",
            )
            listener = ListenerProcess(env, **common)
            total_unique += unique
            start, published = pubs.publish(msgs)
            done = recorded.wait_for(total_unique, timeout=600)
            stats = listener.finish()
            rows.append(
                phase_row(
                    "live",
                    sent=len(msgs),
                    unique=unique,
                    base=0,
                    recorded_at=done,
                    start=start,
                    published_at=published,
                    stats=stats,
                    alarms=alarms,
                )
            )

            # 3. Paced at --rate for --seconds.
            n = round(args.rate * args.seconds)
            msgs, unique, alarms = traffic(
                devices, n, rng=rng, alarm_share=args.alarm_share, repeats=args.repeats, run="p"
            )
            listener = ListenerProcess(env, **common)
            base_count = total_unique
            total_unique += unique
            samples: list[tuple[float, int]] = []
            sampler_done = threading.Event()

            def sample():
                sampler = Recorded(db_url)
                while not sampler_done.is_set():
                    samples.append((time.perf_counter(), sampler.count()))
                    time.sleep(0.25)

            sampler = threading.Thread(target=sample)
            sampler.start()
            start, published = pubs.publish(msgs, rate=args.rate)
            done = recorded.wait_for(total_unique, timeout=600)
            sampler_done.set()
            sampler.join()
            stats = listener.finish()
            row = phase_row(
                "paced",
                sent=len(msgs),
                unique=unique,
                base=base_count,
                recorded_at=done,
                start=start,
                published_at=published,
                stats=stats,
                alarms=alarms,
            )
            row["offered_per_second"] = args.rate
            row["lag_after_last_publish_s"] = round(done - published, 3)
            # Recorded events per whole second of the run, from the samples.
            per_second = []
            for second in range(int(done - start)):
                lo = [c for t, c in samples if t <= start + second]
                hi = [c for t, c in samples if t <= start + second + 1]
                if lo and hi:
                    per_second.append(hi[-1] - lo[-1])
            row["events_per_second_by_second"] = per_second
            rows.append(row)
        finally:
            pubs.close()
        cases = count_rows(db_url, "SELECT count(*) FROM cases_case")
        pg_version = count_rows(db_url, "SHOW server_version_num")
    finally:
        if broker is not None:
            broker.stop()
        shutil.rmtree(folder, ignore_errors=True)
        if not args.keep_db:
            drop_database(base, args.db)

    backlog = next(r for r in rows if r["phase"] == "backlog")
    paced = next(r for r in rows if r["phase"] == "paced")
    # Sustained: the listener drains a backlog at ≥ target, and keeps up with the target rate
    # (the paced phase finishes within two seconds of its last publish).
    meets = bool(
        all(r["complete"] for r in rows)
        and backlog["messages_per_second"] >= TARGET_PER_SECOND
        and paced["lag_after_last_publish_s"] <= 2.0
    )
    report = {
        "bench": "devices",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "postgres": pg_version,
        "mosquitto": subprocess.run(
            ["mosquitto", "-h"], capture_output=True, text=True
        ).stdout.splitlines()[0],
        "cpus": os.cpu_count(),
        "load_average_1m": {"before": load_before[0], "after": os.getloadavg()[0]},
        "python": sys.version.split()[0],
        "devices": args.devices,
        "publishers": args.publishers,
        "listener_batch": args.batch,
        "alarm_share": args.alarm_share,
        "alarm_repeats": args.repeats,
        "dedup_minutes": 10,
        "phases": rows,
        "cases_total": cases,
        "target_per_second": TARGET_PER_SECOND,
        "meets_target": meets,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")

    print(
        f"\n{args.devices} devices, {args.publishers} publishers, batch {args.batch},"
        f" {os.cpu_count()} CPUs, load {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    print(
        f"{'phase':<9}{'messages':>9}{'events':>8}{'dups':>6}{'cases':>7}{'joined':>7}"
        f"{'seconds':>9}{'msg/s':>9}{'complete':>10}"
    )
    for r in rows:
        print(
            f"{r['phase']:<9}{r['messages']:>9}{r['events_recorded']!s:>8}"
            f"{r['duplicates']!s:>6}{r['cases_opened']!s:>7}{r['cases_joined']!s:>7}"
            f"{r['seconds']:>9}{r['messages_per_second']!s:>9}{r['complete']!s:>10}"
        )
    print(
        f"\npaced at {args.rate:g}/s: lag after the last publish"
        f" {paced['lag_after_last_publish_s']}"
        f" s; recorded per second: {paced['events_per_second_by_second']}"
    )
    print(
        f"backlog drain {backlog['messages_per_second']} msg/s (target ≥ {TARGET_PER_SECOND:g})"
        f" → {'MET' if meets else 'NOT MET'}; written to {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
