"""Intake bench: POST /api/v1/cases against a bare django-ninja INSERT, same server, same clients.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/wangge_test .venv/bin/python bench/intake.py

Creates a fresh PostgreSQL database (default wangge_bench) on the server of DATABASE_URL,
migrates it, builds the demo world, starts waitress (a multi-threaded WSGI server) on 127.0.0.1
with production settings (WANGGE_DEBUG=false, persistent connections), then drives both endpoints
with the same 32 keep-alive clients in alternating rounds. Prints a table and writes
bench/results/intake.json. Target: intake ≥ 50 % of the bare ceiling and p99 < 100 ms.

--profile also runs intake requests in-process under cProfile and prints where the time goes.
"""

import argparse
import http.client
import itertools
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "intake.json"
PYTHON = sys.executable
INTAKE_PATH = "/api/v1/cases"
BARE_PATH = "/bench/bare"
REPORT_ONLY_PATH = "/bench/report-only"
TARGET_RATIO = 0.5
TARGET_P99_MS = 100.0

# Run inside the bench database by a child Python: world, token, the bare endpoint's table.
SETUP = """
import json, django
django.setup()
from django.db import connection
from wangge.accounts.models import ApiToken, User
from wangge.world import COUNTY_BOX, build_world
world = build_world(townships={townships})
user = User.objects.get(username={user!r})
_, raw = ApiToken.issue(user, name="bench")
with connection.cursor() as cur:
    cur.execute(
        "CREATE TABLE bench_bare (id bigserial PRIMARY KEY, title varchar(200) NOT NULL,"
        " description text NOT NULL, channel varchar(20) NOT NULL, lon double precision,"
        " lat double precision, category varchar(40), key varchar(100) NOT NULL)"
    )
print(json.dumps({{"token": raw, "box": COUNTY_BOX}}))
"""

# Run inside the bench database by a child Python after the load: one worker routing the cases
# the intake left for it (智能分派 off the request path), for a fixed time.
ROUTE = """
import json, time, django
django.setup()
from wangge.cases.models import Case
from wangge.dispatch.actions import route_pending
pending = Case.objects.filter(routing_pending=True).count()
route_pending(limit=20)  # warm: rules, classifier, grid and place indexes
start, routed = time.monotonic(), 0
while time.monotonic() - start < {seconds} and routed < pending:
    routed += route_pending(limit=50)
elapsed = time.monotonic() - start
print(json.dumps({{"pending": pending, "routed": routed, "seconds": round(elapsed, 2),
                  "per_second": round(routed / elapsed, 1) if elapsed else None}}))
"""

# Run by a child Python for --profile: intake requests through the test client under cProfile.
PROFILE = """
import cProfile, json, pstats, random, uuid, django
django.setup()
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
token, box, n = {token!r}, {box!r}, {n}
client = Client(HTTP_AUTHORIZATION="Bearer " + token, HTTP_HOST="127.0.0.1")
rng = random.Random(7)
def one():
    body = {{"title": "路灯不亮", "description": "小区东门路灯不亮", "channel": "web",
            "lon": rng.uniform(box[0] + 0.001, box[2] - 0.001),
            "lat": rng.uniform(box[1] + 0.001, box[3] - 0.001), "category": "0201"}}
    r = client.post({path!r}, json.dumps(body), content_type="application/json",
                    HTTP_IDEMPOTENCY_KEY="profile-" + uuid.uuid4().hex)
    assert r.status_code in (200, 201), (r.status_code, r.content[:300])
for _ in range(50):
    one()
with CaptureQueriesContext(connection) as q:
    one()
print("queries per intake request:", len(q.captured_queries))
for s in q.captured_queries:
    print("   ", s["sql"][:150])
prof = cProfile.Profile()
prof.enable()
for _ in range(n):
    one()
prof.disable()
stats = pstats.Stats(prof)
print("Project code by cumulative time:")
stats.sort_stats("cumulative").print_stats(r"wangge/|ninja/operation|ninja/security", 30)
print("Everything by own time:")
stats.sort_stats("tottime").print_stats(25)
"""


def database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL=postgres://user@host:port/db: the bench needs PostgreSQL.")
    return url


def with_db(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path="/" + name))


def fresh_database(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(with_db(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(with_db(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def count_rows(url: str, sql: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchone()[0]


def server_env(db_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=db_url,
        DJANGO_SETTINGS_MODULE="bench.bench_settings",
        PYTHONPATH=str(ROOT),
        # Production mode: no query log kept per request, secrets required (bench-only values).
        WANGGE_DEBUG="false",
        WANGGE_SECRET_KEY="bench-only-" + uuid.uuid4().hex,
        WANGGE_PII_KEY="YmVuY2gtb25seS13YW5nZ2UtcGlpLWtleS0zMmJ5dGU=",
        WANGGE_ALLOWED_HOSTS="127.0.0.1,localhost",
        WANGGE_DB_CONN_MAX_AGE="600",
        WANGGE_LOG_LEVEL="WARNING",
        WANGGE_DATA_DIR=str(ROOT / ".wangge" / "bench"),
    )
    return env


def prepare(env: dict[str, str], *, user: str, townships: int) -> dict:
    subprocess.run(
        [PYTHON, "-m", "django", "migrate", "-v", "0"], env=env, cwd=ROOT, check=True, timeout=300
    )
    out = subprocess.run(
        [PYTHON, "-c", SETUP.format(user=user, townships=townships)],
        env=env,
        cwd=ROOT,
        check=True,
        timeout=300,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict[str, str], port: int, threads: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "waitress",
            f"--listen=127.0.0.1:{port}",
            f"--threads={threads}",
            "--connection-limit=200",
            "wangge.wsgi:application",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"The server did not start:\n{proc.stderr.read()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    sys.exit("The server did not listen within 30 s.")


def percentile(sorted_values: list[float], share: float) -> float:
    if not sorted_values:
        return float("nan")
    rank = min(len(sorted_values) - 1, max(0, round(share * len(sorted_values)) - 1))
    return sorted_values[rank]


class Side:
    """One endpoint's measurements, added up over rounds."""

    def __init__(self, name: str, path: str):
        self.name, self.path = name, path
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.seconds = 0.0
        self.first_error = ""

    def summary(self) -> dict:
        lat = sorted(self.latencies)
        ok = sum(n for s, n in self.statuses.items() if 200 <= s < 300)
        return {
            "path": self.path,
            "requests": len(lat),
            "ok": ok,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "seconds": round(self.seconds, 3),
            "per_second": round(ok / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(percentile(lat, 0.50) * 1000, 2),
            "p90_ms": round(percentile(lat, 0.90) * 1000, 2),
            "p99_ms": round(percentile(lat, 0.99) * 1000, 2),
            "max_ms": round(lat[-1] * 1000, 2) if lat else None,
            "first_error": self.first_error,
        }


def drive(
    side: Side,
    *,
    port: int,
    token: str,
    box,
    n: int,
    clients: int,
    budget: float,
    rate: float | None = None,
) -> None:
    """`clients` threads, one keep-alive connection each, share `n` requests. Closed loop (no
    `rate`): each sends the next as soon as its answer arrives, so the server is saturated.
    Open loop (`rate` per second): request i is due at start + i/rate and its latency counts
    from then, so a stalled server is not hidden by clients waiting. Stops after `budget` s."""
    counter = itertools.count()
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]
    began = [0.0]
    run = uuid.uuid4().hex[:8]

    def client(seed: int) -> None:
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        statuses: dict[int, int] = {}
        error = ""
        start.wait()
        while time.monotonic() < stop_at[0]:
            i = next(counter)
            if i >= n:
                break
            due = None
            if rate:
                due = began[0] + i / rate
                time.sleep(max(0.0, due - time.perf_counter()))
            body = json.dumps(
                {
                    "title": "小区路灯不亮",
                    "description": "东门路灯连续三晚不亮,夜间出行不便。",
                    "channel": "web",
                    "lon": rng.uniform(box[0] + 0.001, box[2] - 0.001),
                    "lat": rng.uniform(box[1] + 0.001, box[3] - 0.001),
                    "category": "0201",
                }
            ).encode()
            headers = {
                "Content-Type": "application/json",
                "Authorization": f"Bearer {token}",
                "Idempotency-Key": f"bench-{run}-{i}",
            }
            t0 = time.perf_counter()
            try:
                conn.request("POST", side.path, body, headers)
                resp = conn.getresponse()
                payload = resp.read()
                status = resp.status
            except (OSError, http.client.HTTPException) as exc:
                status, payload = 599, str(exc).encode()
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine.append(time.perf_counter() - (due if due is not None else t0))
            statuses[status] = statuses.get(status, 0) + 1
            if not 200 <= status < 300 and not error:
                error = f"{status}: {payload[:300].decode(errors='replace')}"
        conn.close()
        with lock:
            side.latencies.extend(mine)
            for s, k in statuses.items():
                side.statuses[s] = side.statuses.get(s, 0) + k
            side.first_error = side.first_error or error

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.monotonic() + budget
    t0 = began[0] = time.perf_counter()
    start.wait()
    for t in threads:
        t.join()
    side.seconds += time.perf_counter() - t0


def git_commit() -> str:
    out = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return out.stdout.strip()


def table(title: str, rows: dict[str, dict]) -> None:
    print(f"\n{title}")
    print(f"{'endpoint':<26}{'ok/sent':>12}{'req/s':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}")
    for name, s in rows.items():
        print(
            f"{name:<26}{s['ok']:>6}/{s['requests']:<5}{s['per_second']:>9}"
            f"{s['p50_ms']:>9}{s['p90_ms']:>9}{s['p99_ms']:>9}"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--requests", type=int, default=3000, help="per endpoint (default 3000)")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--threads", type=int, default=32, help="waitress worker threads")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds per endpoint")
    ap.add_argument("--budget", type=float, default=120.0, help="seconds at most per round")
    ap.add_argument("--warmup", type=int, default=200, help="unmeasured requests per endpoint")
    ap.add_argument("--paced-seconds", type=float, default=20.0, help="length of the paced phase")
    ap.add_argument(
        "--route-seconds", type=float, default=15.0, help="how long one worker routes afterwards"
    )
    ap.add_argument("--user", default="grid_worker_a1", help="who reports (a token is issued)")
    ap.add_argument("--townships", type=int, default=2, help="size of the demo world")
    ap.add_argument("--db", default="wangge_bench")
    ap.add_argument("--keep-db", action="store_true")
    ap.add_argument("--profile", type=int, default=0, metavar="N", help="cProfile N intakes")
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args()

    base = database_url()
    load_before = os.getloadavg()
    db_url = with_db(base, args.db)
    fresh_database(base, args.db)
    env = server_env(db_url)
    names = {
        "bare": "bare ninja INSERT",
        "report_only": "report_case only",
        "intake": "POST /api/v1/cases",
    }
    paths = {"bare": BARE_PATH, "report_only": REPORT_ONLY_PATH, "intake": INTAKE_PATH}
    try:
        setup = prepare(env, user=args.user, townships=args.townships)
        token, box = setup["token"], setup["box"]
        port = free_port()
        server = start_server(env, port, args.threads)
        try:
            common = {"port": port, "token": token, "box": box, "clients": args.clients}
            closed = {k: Side(names[k], paths[k]) for k in names}
            for key, side in closed.items():
                warm = Side(side.name, side.path)
                drive(warm, n=args.warmup, budget=args.budget, **common)
                if warm.first_error:
                    print(f"warm-up of {key} failed: {warm.first_error}", file=sys.stderr)
            per_round = max(1, args.requests // args.rounds)
            for _ in range(args.rounds):
                for side in closed.values():
                    drive(side, n=per_round, budget=args.budget, **common)
            saturated = {k: side.summary() for k, side in closed.items()}
            # Latency at a load the intake can carry: half its own saturated throughput.
            rate = max(1.0, round(saturated["intake"]["per_second"] / 2, 1))
            paced = {k: Side(names[k], paths[k]) for k in ("bare", "intake")}
            for side in paced.values():
                n = max(1, int(rate * args.paced_seconds))
                drive(side, n=n, budget=args.budget, rate=rate, **common)
            paced_summary = {k: side.summary() for k, side in paced.items()}
        finally:
            server.terminate()
            server.wait(timeout=30)
        rows = {
            "cases_case": count_rows(db_url, "SELECT count(*) FROM cases_case"),
            "bench_bare": count_rows(db_url, "SELECT count(*) FROM bench_bare"),
        }
        pg_version = count_rows(db_url, "SHOW server_version_num")
        out = subprocess.run(
            [PYTHON, "-c", ROUTE.format(seconds=args.route_seconds)],
            env=env,
            cwd=ROOT,
            check=True,
            timeout=args.route_seconds + 300,
            capture_output=True,
            text=True,
        )
        routing = json.loads(out.stdout.strip().splitlines()[-1])
        if args.profile:
            print(f"\nProfile of {args.profile} intake requests (in-process, one thread):\n")
            subprocess.run(
                [
                    PYTHON,
                    "-c",
                    PROFILE.format(token=token, box=box, n=args.profile, path=INTAKE_PATH),
                ],
                env=env,
                cwd=ROOT,
                check=True,
                timeout=600,
            )
    finally:
        if not args.keep_db:
            drop_database(base, args.db)

    bare, intake = saturated["bare"], saturated["intake"]
    ratio = round(intake["per_second"] / bare["per_second"], 3) if bare["per_second"] else None
    # p99 is judged below saturation: at saturation 32 clients queue by construction (Little's
    # law), so even the bare ceiling's p99 is ~100 ms there; both are reported.
    paced_p99 = paced_summary["intake"]["p99_ms"]
    meets = bool(
        ratio is not None
        and ratio >= TARGET_RATIO
        and paced_p99 < TARGET_P99_MS
        and intake["ok"] == intake["requests"]
        and paced_summary["intake"]["ok"] == paced_summary["intake"]["requests"]
    )
    report = {
        "bench": "intake",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "server": f"waitress {version('waitress')}, {args.threads} threads,"
        " WANGGE_DEBUG=false, CONN_MAX_AGE=600",
        "postgres": pg_version,
        "cpus": os.cpu_count(),
        # Other work on the machine skews every number; the bench cannot account for it.
        "load_average_1m": {"before": load_before[0], "after": os.getloadavg()[0]},
        "python": sys.version.split()[0],
        "clients": args.clients,
        "rounds": args.rounds,
        "warmup_per_endpoint": args.warmup,
        "world_townships": args.townships,
        "saturated": saturated,
        "paced": {"rate_per_second": rate, **paced_summary},
        "intake_share_of_bare": ratio,
        "paced_intake_p99_ms": paced_p99,
        # 智能分派 runs in the worker (WANGGE_INTAKE_ROUTING=worker): how fast one worker routes.
        "routing_one_worker": routing,
        "target": {"share_of_bare": TARGET_RATIO, "p99_ms": TARGET_P99_MS},
        "meets_target": meets,
        "rows_written": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")

    print(
        f"\n{args.clients} clients, {report['server']}, {os.cpu_count()} CPUs,"
        f" load average {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    table(
        "Saturated (closed loop: each client sends again on the answer)",
        {names[k]: v for k, v in saturated.items()},
    )
    table(
        f"Paced at {rate}/s (open loop, latency from the scheduled send)",
        {names[k]: v for k, v in paced_summary.items()},
    )
    print(
        f"\n智能分派 afterwards, one worker: {routing['routed']} of {routing['pending']} waiting"
        f" cases in {routing['seconds']} s = {routing['per_second']} cases/s"
    )
    print(
        f"\nintake / bare = {ratio}  (target ≥ {TARGET_RATIO}); paced intake p99 {paced_p99} ms"
        f" (target < {TARGET_P99_MS:g}; saturated: {intake['p99_ms']} ms, bare"
        f" {bare['p99_ms']} ms) → {'MET' if meets else 'NOT MET'}"
    )
    for k, s in [*saturated.items(), *paced_summary.items()]:
        if s["first_error"]:
            print(f"first error on {names[k]}: {s['first_error']}")
    print(f"rows: {rows}; written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
