"""Open311 GeoReport v2 client: import another server's service requests as wangge cases.

`pull(base_url)` asks `GET {base_url}/requests.json` (falling back to `.xml` when the server
has no JSON) in `start_date`/`end_date` windows of at most 90 days, the longest span the spec
allows, and halves a window whose answer is cut at the spec's 1,000 requests.

Each remote request becomes a case through `report_case` on `Channel.OPEN311`, keyed by
`{base_url}#{service_request_id}`, so a second pull finds the first case instead of making a
new one. The remote status last seen is kept on an internal NOTE event (`dedupe_key`
`open311:{case}:{n}`, so two pulls racing record one change, not two). When the remote status
changes, the case follows only through legal moves:

| Remote now | Case is                        | What the pull does                           |
| ---------- | ------------------------------ | -------------------------------------------- |
| closed     | new, resolved, rated           | `close_case` (归档) with the remote notes    |
| closed     | dispatched … in progress       | a note only: the unit's own 办结 stands      |
| open       | closed, resolved, rated        | a note only: 重办 is the resident's call     |
| same       | anything                       | nothing (counted unchanged)                  |

New open requests go through the dispatch rules like any intake (`auto_dispatch`); a request
already closed when first seen is imported and archived at once, so the record is complete.

Scheduling: `pull_open311` is a django-tasks task run by `wangge worker`. Enqueue it once
with `every_minutes` (`wangge open311 pull URL --enqueue --every 15`) and each run queues the
next; or run `wangge open311 pull URL` from cron.
"""

import hashlib
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from wangge.accounts.actions import system_user
from wangge.cases.actions import add_event, close_case, report_case
from wangge.cases.models import Case, CaseEvent, CaseState, Category, Channel, EventKind
from wangge.dispatch.actions import auto_dispatch
from wangge.lib.errors import DomainError

PULL_ACTOR = "open311-pull"
WINDOW = timedelta(days=90)  # GeoReport v2: a start/end range may not span more than 90 days
PAGE_LIMIT = 1000  # GeoReport v2: servers answer at most the first 1,000 requests
TIMEOUT = 30
USER_AGENT = "wangge-open311/1"
CLOSABLE = (CaseState.NEW, CaseState.RESOLVED, CaseState.RATED)
W3C_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")


class Open311Error(Exception):
    """The remote server could not be reached or did not answer a GeoReport v2 document."""


@dataclass
class Response:
    status: int
    content_type: str
    body: bytes

    def media_type(self) -> str:
        return self.content_type.split(";")[0].strip().lower()


def http(
    method: str, url: str, *, params: dict | None = None, form: dict | None = None
) -> Response:
    """One HTTP exchange with the standard library; 4xx/5xx answers are returned, not raised,
    because GeoReport error documents come with them."""
    query = {k: v for k, v in (params or {}).items() if v not in (None, "")}
    if query:
        url = f"{url}?{urllib.parse.urlencode(query)}"
    data = None
    headers = {"User-Agent": USER_AGENT, "Accept-Charset": "utf-8"}
    if form is not None:
        data = urllib.parse.urlencode(form).encode("utf-8")
        headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
    if not url.startswith(("http://", "https://")):
        raise Open311Error(_("Only http and https addresses can be used."))
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310
            return Response(answer.status, answer.headers.get("Content-Type", ""), answer.read())
    except urllib.error.HTTPError as exc:
        return Response(exc.code, exc.headers.get("Content-Type", ""), exc.read())
    except (urllib.error.URLError, OSError) as exc:
        raise Open311Error(
            _("%(url)s could not be reached: %(error)s") % {"url": url, "error": exc}
        ) from exc


def parse_datetime(value) -> datetime | None:
    """A W3C date-time with a time zone, as GeoReport v2 requires; anything else is None."""
    if not isinstance(value, str) or not W3C_DATETIME.match(value.strip()):
        return None
    return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))


def w3c(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def xml_items(body: bytes, root: str) -> list[dict]:
    """The Spark convention read back: `<root><item><field>text</field>…</item></root>`; a field
    with children becomes a list of dicts. Raises ValueError for anything else."""
    try:
        tree = ET.fromstring(body)  # noqa: S314 - no entities are expanded by ElementTree
    except ET.ParseError as exc:
        raise ValueError(str(exc)) from exc
    if tree.tag != root:
        raise ValueError(f"root element <{tree.tag}>, expected <{root}>")
    return [_xml_dict(item) for item in tree]


def _xml_dict(element: ET.Element) -> dict:
    out = {}
    for child in element:
        out[child.tag] = [_xml_dict(c) for c in child] if len(child) else (child.text or "")
    return out


def _float(value) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _text(value) -> str:
    return "" if value is None else str(value).strip()


@dataclass
class PullResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    format: str = ""
    windows: int = 0
    errors: list[str] = field(default_factory=list)


class Puller:
    def __init__(self, base_url: str, *, service_code=None, jurisdiction_id=None, api_key=None):
        self.base_url = base_url.rstrip("/")
        self.service_code = service_code
        self.jurisdiction_id = jurisdiction_id
        self.api_key = api_key
        self.format = ""

    def fetch(self, start: datetime, end: datetime) -> list[dict]:
        params = {
            "start_date": w3c(start),
            "end_date": w3c(end),
            "service_code": self.service_code,
            "jurisdiction_id": self.jurisdiction_id,
            "api_key": self.api_key,
        }
        for fmt in [self.format] if self.format else ["json", "xml"]:
            answer = http("GET", f"{self.base_url}/requests.{fmt}", params=params)
            if answer.status != 200:
                continue
            try:
                items = (
                    json.loads(answer.body.decode("utf-8"))
                    if fmt == "json"
                    else xml_items(answer.body, "service_requests")
                )
            except (ValueError, UnicodeDecodeError):
                continue
            if isinstance(items, list) and all(isinstance(i, dict) for i in items):
                self.format = fmt
                return items
        raise Open311Error(
            _("%(url)s/requests did not answer a list of service requests (HTTP %(status)s).")
            % {"url": self.base_url, "status": answer.status}
        )

    def fetch_window(self, start: datetime, end: datetime, result: PullResult) -> list[dict]:
        result.windows += 1
        items = self.fetch(start, end)
        if len(items) >= PAGE_LIMIT and end - start > timedelta(minutes=1):
            middle = start + (end - start) / 2
            return self.fetch_window(start, middle, result) + self.fetch_window(middle, end, result)
        return items


def import_key(base_url: str, service_request_id: str) -> str:
    """`{base_url}#{id}`; hashed when longer than the 100 characters the intake key holds."""
    key = f"{base_url.rstrip('/')}#{service_request_id}"
    if len(key) <= 100:
        return key
    return "open311:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def _sync_events(case: Case):
    return CaseEvent.objects.filter(
        case=case, kind=EventKind.NOTE, dedupe_key__startswith=f"open311:{case.pk}:"
    )


def _record_remote_status(case, remote: dict, *, base_url, actor, now, reason) -> bool:
    """Note the remote status on the timeline; False when a concurrent pull noted it first."""
    n = _sync_events(case).count() + 1
    try:
        with transaction.atomic():
            add_event(
                case,
                EventKind.NOTE,
                actor=actor,
                now=now,
                reason=reason,
                data={
                    "remote_status": remote["status"],
                    "remote_id": remote["id"],
                    "server": base_url,
                    "status_notes": remote["status_notes"],
                    "updated_datetime": remote["updated"],
                    "media_url": remote["media_url"],
                },
                dedupe_key=f"open311:{case.pk}:{n}",
            )
    except IntegrityError:
        return False
    return True


def _remote(item: dict) -> dict:
    status = _text(item.get("status")).lower()
    if status not in ("open", "closed"):
        raise Open311Error(_("Unknown status “%(status)s”.") % {"status": status})
    rid = _text(item.get("service_request_id"))
    if not rid:
        raise Open311Error(_("A request without a service_request_id."))
    return {
        "id": rid,
        "status": status,
        "status_notes": _text(item.get("status_notes")),
        "service_code": _text(item.get("service_code")),
        "service_name": _text(item.get("service_name")),
        "description": _text(item.get("description")),
        "address": _text(item.get("address")),
        "lat": _float(item.get("lat")),
        "lon": _float(item.get("long")),
        "requested": parse_datetime(item.get("requested_datetime")),
        "updated": _text(item.get("updated_datetime")),
        "media_url": _text(item.get("media_url")),
    }


def _title(remote: dict) -> str:
    first_line = remote["description"].splitlines()[0] if remote["description"] else ""
    snippet = first_line[:80]
    if remote["service_name"] and snippet:
        return f"{remote['service_name']}：{snippet}"[:200]
    return (snippet or remote["service_name"] or _("Open311 request %(id)s") % remote)[:200]


@transaction.atomic
def import_request(base_url: str, item: dict, *, now: datetime) -> str:
    """Import or update one remote request; answers "created", "updated" or "unchanged"."""
    remote = _remote(item)
    actor = system_user(PULL_ACTOR)
    key = import_key(base_url, remote["id"])
    case = Case.objects.filter(channel=Channel.OPEN311, idempotency_key=key).first()
    if case is None:
        reported_at = (
            remote["requested"] if remote["requested"] and remote["requested"] <= now else now
        )
        case, created = report_case(
            channel=Channel.OPEN311,
            idempotency_key=key,
            external_ref=remote["id"][:100],
            title=_title(remote),
            description=remote["description"][:5000],
            lon=remote["lon"] if remote["lat"] is not None else None,
            lat=remote["lat"] if remote["lon"] is not None else None,
            address=remote["address"][:300],
            category=Category.objects.filter(code=remote["service_code"]).first()
            if remote["service_code"]
            else None,
            actor=actor,
            now=reported_at,
        )
        if created:
            reason = _("Imported from %(server)s, request %(id)s.") % {
                "server": base_url,
                "id": remote["id"],
            }
            _record_remote_status(
                case, remote, base_url=base_url, actor=actor, now=now, reason=reason
            )
            if remote["status"] == "closed":
                close_case(case, actor=actor, reason=_closed_reason(remote), now=now)
            else:
                auto_dispatch(case, now=now)
            return "created"
    last = _sync_events(case).order_by("-occurred_at", "-id").first()
    if last is not None and last.data.get("remote_status") == remote["status"]:
        return "unchanged"
    if remote["status"] == "closed":
        reason = _closed_reason(remote)
    else:
        reason = _("Open again on %(server)s.") % {"server": base_url}
    if not _record_remote_status(
        case, remote, base_url=base_url, actor=actor, now=now, reason=reason
    ):
        return "unchanged"
    if remote["status"] == "closed" and case.state in CLOSABLE:
        close_case(case, actor=actor, reason=reason, now=now)
    return "updated"


def _closed_reason(remote: dict) -> str:
    if remote["status_notes"]:
        return _("Closed on the Open311 server: %(notes)s") % {"notes": remote["status_notes"]}
    return _("Closed on the Open311 server.")


def pull(
    base_url: str,
    *,
    service_code: str | None = None,
    since: datetime | None = None,
    jurisdiction_id: str | None = None,
    api_key: str | None = None,
    now: datetime | None = None,
) -> PullResult:
    """Fetch the remote requests from `since` (default: the last 90 days) to now and import
    each; one bad request is counted failed and the rest still import."""
    now = now or timezone.now()
    start = since or now - WINDOW
    puller = Puller(
        base_url, service_code=service_code, jurisdiction_id=jurisdiction_id, api_key=api_key
    )
    result = PullResult()
    seen = set()
    while start < now:
        end = min(start + WINDOW, now)
        for item in puller.fetch_window(start, end, result):
            rid = _text(item.get("service_request_id"))
            if rid and rid in seen:  # a request on a window's edge comes twice
                continue
            seen.add(rid)
            try:
                outcome = import_request(puller.base_url, item, now=now)
            except (DomainError, Open311Error) as exc:
                result.failed += 1
                message = exc.text() if isinstance(exc, DomainError) else str(exc)
                result.errors.append(f"{rid or '?'}: {message}")
                continue
            setattr(result, outcome, getattr(result, outcome) + 1)
        start = end
    result.format = puller.format
    return result


@task()
def pull_open311(
    base_url: str,
    service_code: str | None = None,
    since: str | None = None,
    jurisdiction_id: str | None = None,
    api_key: str | None = None,
    every_minutes: int | None = None,
) -> dict:
    """Scheduled pull, run by `wangge worker`. With `every_minutes`, the next run is queued
    first, so a failing server does not stop the schedule."""
    if every_minutes:
        pull_open311.using(run_after=timezone.now() + timedelta(minutes=every_minutes)).enqueue(
            base_url, service_code, since, jurisdiction_id, api_key, every_minutes
        )
    result = pull(
        base_url,
        service_code=service_code,
        since=parse_since(since) if since else None,
        jurisdiction_id=jurisdiction_id,
        api_key=api_key,
    )
    return asdict(result)


def parse_since(value: str) -> datetime:
    """A date (`2026-01-31`) or a date-time; without a zone it is read in the local zone."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(_("Not a date: %(value)s") % {"value": value}) from exc
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment
