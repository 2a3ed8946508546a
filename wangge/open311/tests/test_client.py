"""`wangge open311 pull` against a small GeoReport v2 server running in a thread.

`FakeGeoReport` answers as the spec's examples do (wiki.open311.org/GeoReport_v2); its `broken`
set switches single deviations on for the conformance tests.
"""

import json
import threading
import urllib.parse
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.etree import ElementTree as ET

import pytest
from django.core.management import call_command
from django.utils import translation

from wangge.cases.models import Case, CaseState, Channel, EventKind
from wangge.open311.client import pull
from wangge.world import centre_of

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
ITEMS = {"services": "service", "service_requests": "request", "errors": "error"}
ITEMS |= {"attributes": "attribute", "values": "value", "endpoints": "endpoint"}
ITEMS |= {"formats": "format"}


CST = timezone(timedelta(hours=8))


def w3c_local(moment: datetime) -> str:
    return moment.astimezone(CST).isoformat(timespec="seconds")


class FakeGeoReport:
    """A GeoReport v2 server in memory: services 0201 (with one required attribute) and pothole."""

    SERVICES = [
        {
            "service_code": "0201",
            "service_name": "路灯损坏",
            "description": "路灯不亮或闪烁",
            "metadata": True,
            "type": "realtime",
            "keywords": "路灯,照明",
            "group": "市政",
        },
        {
            "service_code": "pothole",
            "service_name": "Pothole",
            "description": None,
            "metadata": False,
            "type": "realtime",
            "keywords": None,
            "group": "street",
        },
    ]
    DEFINITION = {
        "service_code": "0201",
        "attributes": [
            {
                "variable": True,
                "code": "pole",
                "datatype": "singlevaluelist",
                "required": True,
                "datatype_description": None,
                "order": 1,
                "description": "灯杆编号",
                "values": [{"key": "A-017", "name": "A-017 解放路"}],
            }
        ],
    }

    def __init__(self):
        self.requests: dict[str, dict] = {}
        self.broken: set[str] = set()
        self.queries: list[tuple[str, dict]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/open311/v2"

    def add(self, rid, *, status="open", requested, code="0201", **fields):
        self.requests[rid] = {
            "service_request_id": rid,
            "status": status,
            "status_notes": None,
            "service_name": {"0201": "路灯损坏", "pothole": "Pothole"}.get(code, code),
            "service_code": code,
            "description": "路灯不亮",
            "agency_responsible": None,
            "service_notice": None,
            "requested_datetime": w3c_local(requested),
            "updated_datetime": w3c_local(requested),
            "expected_datetime": None,
            "address": "解放路12号",
            "address_id": None,
            "zipcode": None,
            "lat": None,
            "long": None,
            "media_url": None,
            **fields,
        }

    # --- rendering (the Spark convention) --------------------------------------------------

    def render(self, handler, fmt, root, value, status=200):
        if fmt == "json":
            if "numeric_ids" in self.broken:
                value = _numeric_ids(value)
            body = json.dumps(value, ensure_ascii=False).encode("utf-8")
            ctype = "application/json; charset=utf-8"
        else:
            element = ET.Element(root)
            _fill(element, root, value)
            body = b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, "utf-8")
            body = body.replace(b"<?xml version='1.0' encoding='utf-8'?>\n", b"", 1)
            ctype = "text/xml; charset=utf-8"
            if "unescaped_xml" in self.broken:
                body = body.replace(b"&amp;", b"&").replace(b"&lt;", b"<")
        handler.send_response(status)
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def error(self, handler, fmt, status, text):
        if "plain_errors" in self.broken:
            body = text.encode("utf-8")
            handler.send_response(status)
            handler.send_header("Content-Type", "text/plain; charset=utf-8")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            return
        self.render(handler, fmt, "errors", [{"code": status, "description": text}], status)

    def shown(self, request):
        out = dict(request)
        if "naive_dates" in self.broken:
            out["requested_datetime"] = out["requested_datetime"][:19]
        return out

    # --- methods ---------------------------------------------------------------------------

    def get(self, handler, path, fmt, query):
        self.queries.append((f"{path}.{fmt}", query))
        if fmt == "json" and "no_json" in self.broken:
            return self.error(handler, "xml", 404, "No JSON here")
        if path == "discovery":
            doc = {
                "changeset": "2026-11-01T00:00:00Z",
                "contact": "ops@example.cn",
                "key_service": "ops@example.cn",
                "endpoints": [
                    {
                        "specification": "http://wiki.open311.org/GeoReport_v2",
                        "url": self.url,
                        "changeset": "2026-11-01T00:00:00Z",
                        "type": "production",
                        "formats": ["text/xml", "application/json"],
                    }
                ],
            }
            return self.render(handler, fmt, "discovery", doc)
        if path == "services":
            return self.render(handler, fmt, "services", self.SERVICES)
        if path == "services/0201":
            return self.render(handler, fmt, "service_definition", self.DEFINITION)
        if path.startswith("services/"):
            return self.error(handler, fmt, 404, "service_code not found")
        if path == "requests":
            found = []
            start, end = query.get("start_date"), query.get("end_date")
            for request in self.requests.values():
                at = datetime.fromisoformat(request["requested_datetime"])
                if start and at < datetime.fromisoformat(start.replace("Z", "+00:00")):
                    continue
                if end and at > datetime.fromisoformat(end.replace("Z", "+00:00")):
                    continue
                if query.get("service_code") and request["service_code"] != query["service_code"]:
                    continue
                found.append(self.shown(request))
            return self.render(handler, fmt, "service_requests", found[:1000])
        if path.startswith("requests/"):
            request = self.requests.get(path.removeprefix("requests/"))
            if request is None:
                return self.error(handler, fmt, 404, "service_request_id not found")
            return self.render(handler, fmt, "service_requests", [self.shown(request)])
        return self.error(handler, fmt, 404, "No such method")

    def post(self, handler, path, fmt, form):
        if path != "requests":
            return self.error(handler, fmt, 404, "No such method")
        if form.get("api_key") != "k-secret":
            return self.error(handler, fmt, 403, "Invalid api_key")
        code = form.get("service_code")
        if code not in ("0201", "pothole"):
            return self.error(handler, fmt, 404, f"service_code {code} not found")
        if code == "0201" and form.get("attribute[pole]") != "A-017":
            return self.error(handler, fmt, 400, "attribute pole is required")
        rid = str(1000 + len(self.requests))
        self.add(
            rid,
            code=code,
            requested=datetime.now(UTC).replace(microsecond=0),
            description=form.get("description", ""),
            address=form.get("address_string", ""),
        )
        return self.render(
            handler, fmt, "service_requests", [{"service_request_id": rid, "service_notice": None}]
        )

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _route(self):
                parts = urllib.parse.urlsplit(self.path)
                path = parts.path.removeprefix("/open311/v2/")
                path, _dot, fmt = path.rpartition(".")
                return path, fmt, dict(urllib.parse.parse_qsl(parts.query))

            def do_GET(self):
                path, fmt, query = self._route()
                fake.get(self, path, fmt, query)

            def do_POST(self):
                path, fmt, _query = self._route()
                length = int(self.headers.get("Content-Length", 0))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode("utf-8")))
                fake.post(self, path, fmt, form)

        return Handler

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _fill(element, name, value):
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), key, child)
    elif isinstance(value, list):
        for child in value:
            _fill(ET.SubElement(element, ITEMS[name]), ITEMS[name], child)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)


def _numeric_ids(value):
    if isinstance(value, list):
        return [_numeric_ids(v) for v in value]
    if isinstance(value, dict):
        return {
            k: int(v) if k == "service_request_id" and str(v).isdigit() else v
            for k, v in value.items()
        }
    return value


@pytest.fixture(autouse=True)
def english():
    """Timeline reasons are written in the active language; English keeps them stable here."""
    with translation.override("en"):
        yield


@pytest.fixture
def fake():
    with FakeGeoReport() as server:
        yield server


def imported(fake):
    return list(
        Case.objects.filter(channel=Channel.OPEN311, idempotency_key__startswith=fake.url)
        .order_by("external_ref")
        .values_list("external_ref", "title", "state", "category__code", "address")
    )


def test_pull_creates_one_located_case_per_remote_request(world, fake):
    lon, lat = centre_of(world.grid_a1)
    fake.add("r-1", requested=NOW - timedelta(days=3), lat=lat, long=lon)
    fake.add("r-2", code="pothole", requested=NOW - timedelta(days=1), description="")
    fake.add("r-3", status="closed", requested=NOW - timedelta(days=2), status_notes="已修复")

    result = pull(fake.url, now=NOW)

    assert (result.created, result.updated, result.unchanged, result.failed) == (3, 0, 0, 0)
    assert imported(fake) == [
        ("r-1", "路灯损坏：路灯不亮", CaseState.DISPATCHED, "0201", "解放路12号"),
        ("r-2", "Pothole", CaseState.NEW, None, "解放路12号"),
        ("r-3", "路灯损坏：路灯不亮", CaseState.CLOSED, "0201", "解放路12号"),
    ]
    first = Case.objects.get(external_ref="r-1", idempotency_key=f"{fake.url}#r-1")
    # located in grid A1's first micro-grid, reported when the resident reported it remotely
    assert (first.cell.name, first.cell.parent, first.reported_at) == (
        "凤城西社区第1网格1号微网格",
        world.grid_a1,
        NOW - timedelta(days=3),
    )
    closed = Case.objects.get(external_ref="r-3")
    assert [(e.kind, e.reason) for e in closed.events.all()] == [
        (EventKind.REPORT, ""),
        (EventKind.NOTE, f"Imported from {fake.url}, request r-3."),
        (EventKind.CLOSE, "Closed on the Open311 server: 已修复"),
    ]
    # One 90-day window from the spec's default start, JSON first.
    assert fake.queries == [
        (
            "requests.json",
            {"start_date": "2026-08-26T02:00:00Z", "end_date": "2026-11-24T02:00:00Z"},
        )
    ]


def test_second_pull_creates_nothing_and_follows_a_closed_status(world, fake):
    fake.add("r-1", requested=NOW - timedelta(days=3))
    fake.add("r-2", code="pothole", requested=NOW - timedelta(days=1))
    pull(fake.url, now=NOW)
    fake.requests["r-2"]["status"] = "closed"
    fake.requests["r-2"]["status_notes"] = "Filled in"
    fake.requests["r-1"]["status"] = "closed"

    second = pull(fake.url, now=NOW + timedelta(hours=1))
    third = pull(fake.url, now=NOW + timedelta(hours=2))

    assert (second.created, second.updated, second.unchanged) == (0, 2, 0)
    assert (third.created, third.updated, third.unchanged) == (0, 0, 2)
    # r-2 was still 待受理: archived. r-1 was dispatched: its unit's 办结 stands, a note says why.
    assert imported(fake) == [
        ("r-1", "路灯损坏：路灯不亮", CaseState.DISPATCHED, "0201", "解放路12号"),
        ("r-2", "Pothole：路灯不亮", CaseState.CLOSED, None, "解放路12号"),
    ]
    r1 = Case.objects.get(external_ref="r-1")
    assert [(e.kind, e.data.get("remote_status")) for e in r1.events.all()] == [
        (EventKind.REPORT, None),
        (EventKind.NOTE, "open"),
        (EventKind.DISPATCH, None),
        (EventKind.NOTE, "closed"),
    ]
    r2 = Case.objects.get(external_ref="r-2")
    assert [e.kind for e in r2.events.all()] == ["report", "note", "note", "close"]
    assert r2.events.last().reason == "Closed on the Open311 server: Filled in"


def test_pull_falls_back_to_xml_and_splits_long_ranges_into_90_day_windows(world, fake):
    fake.broken.add("no_json")
    fake.add("x-1", requested=NOW - timedelta(days=120), description="井盖 <松动> & 响")
    fake.add("x-2", requested=NOW - timedelta(days=10))

    result = pull(fake.url, since=NOW - timedelta(days=150), service_code="0201", now=NOW)

    assert (result.created, result.format, result.windows) == (2, "xml", 2)
    assert Case.objects.get(external_ref="x-1").description == "井盖 <松动> & 响"
    assert [(path, q["start_date"], q["end_date"]) for path, q in fake.queries] == [
        ("requests.json", "2026-06-27T02:00:00Z", "2026-09-25T02:00:00Z"),
        ("requests.xml", "2026-06-27T02:00:00Z", "2026-09-25T02:00:00Z"),
        ("requests.xml", "2026-09-25T02:00:00Z", "2026-11-24T02:00:00Z"),
    ]
    assert {q["service_code"] for _path, q in fake.queries} == {"0201"}


def test_a_bad_remote_request_is_counted_and_the_rest_import(world, fake):
    fake.add("ok", requested=NOW - timedelta(days=1))
    fake.add("bad", status="pending", requested=NOW - timedelta(days=1))
    fake.add("far", requested=NOW - timedelta(days=1), lat=95.0, long=10.0)

    result = pull(fake.url, now=NOW)

    assert (result.created, result.failed) == (1, 2)
    assert result.errors == [
        "bad: Unknown status “pending”.",
        "far: The coordinates are not on Earth.",
    ]
    assert [row[0] for row in imported(fake)] == ["ok"]


def test_pull_command_prints_counts(world, fake, capsys):
    fake.add("c-1", requested=datetime.now(UTC) - timedelta(days=1))

    call_command("open311", "pull", fake.url, "--since", "2000-01-01", skip_checks=False)
    call_command("open311", "pull", fake.url)

    assert capsys.readouterr().out.splitlines() == [
        "1 created, 0 updated, 0 unchanged, 0 failed",
        "0 created, 0 updated, 1 unchanged, 0 failed",
    ]


def test_the_pull_task_runs_the_same_import(world, fake):
    from wangge.open311.client import pull_open311

    fake.add("t-1", requested=datetime.now(UTC) - timedelta(days=1))

    result = pull_open311.enqueue(fake.url)

    assert result.return_value["created"] == 1
    assert [row[0] for row in imported(fake)] == ["t-1"]


def test_a_repeating_pull_queues_its_next_run_before_it_pulls(world, fake, settings):
    from django_tasks import default_task_backend

    from wangge.open311.client import pull_open311

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    fake.add("t-1", requested=datetime.now(UTC) - timedelta(days=1))
    before = datetime.now(UTC)

    result = pull_open311.call(fake.url, None, None, None, None, 15)

    queued = default_task_backend.results
    assert result["created"] == 1
    assert [(r.args, r.task.run_after > before + timedelta(minutes=14)) for r in queued] == [
        ([fake.url, None, None, None, None, 15], True)
    ]
