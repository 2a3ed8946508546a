"""Read side of Open311: which cases are listed, and each as a GeoReport `request` row.

Only cases received through Open311 are listed: cases from the hotline or patrols often carry
personal details in their free text, and their reporters never agreed to publication. Of those,
only cases of a public category (`cases.queries.public_cases`: never care). Personal data
(names, phone, e-mail, device and account ids) is never part of a row.
"""

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils import timezone, translation

from wangge.cases.models import DONE_STATES, Audience, Case, CaseEvent, Channel, EventKind
from wangge.cases.queries import public_cases, public_q

LISTED_CHANNELS = (Channel.OPEN311,)
MAX_REQUESTS = 1000


def w3c(value) -> str | None:
    """W3C date-time with its offset, in the deployment's time zone (2026-11-24T17:42:23+08:00)."""
    if value is None:
        return None
    return timezone.localtime(value).isoformat(timespec="seconds")


def status_of(case: Case) -> str:
    """GeoReport has two statuses. `closed` means the work is done: 办结 (resolved), rated or
    archived; everything before, including 退单 and 重办, is `open`. A reopened case is open
    again."""
    return "closed" if case.state in DONE_STATES else "open"


def listed_requests() -> QuerySet[Case]:
    public_events = CaseEvent.objects.filter(audience=Audience.PUBLIC).order_by("occurred_at", "id")
    return (
        public_cases()
        .filter(channel__in=LISTED_CHANNELS)
        .select_related("category", "unit", "handling_cell", "open311")
        .prefetch_related(Prefetch("events", queryset=public_events, to_attr="public_events"))
    )


def _note(event: CaseEvent) -> str:
    if event.kind in (EventKind.REPLY, EventKind.NOTE):
        return event.reason
    if event.public_text:
        return event.public_text
    with translation.override(settings.LANGUAGE_CODE):
        return str(EventKind(event.kind).label)


def request_row(case: Case) -> dict:
    """One GeoReport `request`, in the spec's element order."""
    events = getattr(case, "public_events", None)
    if events is None:
        events = list(case.events.filter(audience=Audience.PUBLIC).order_by("occurred_at", "id"))
    submission = getattr(case, "open311", None)
    if case.unit_id:
        agency = case.unit.name
    elif case.assignee_id:
        agency = case.handling_cell.name  # a grid worker: the grid answers for it
    else:
        agency = ""
    return {
        "service_request_id": case.tracking_code,
        "status": status_of(case),
        "status_notes": _note(events[-1]) if events else "",
        "service_name": case.category.name,
        "service_code": case.category.code,
        "description": case.description,
        "agency_responsible": agency,
        "service_notice": "",
        "requested_datetime": w3c(case.reported_at),
        "updated_datetime": w3c(case.updated_at),
        "expected_datetime": w3c(case.due_at),
        "address": case.address,
        "address_id": submission.address_id if submission else "",
        "zipcode": "",
        "lat": case.lat,
        "long": case.lon,
        "media_url": submission.media_url if submission else "",
    }


# mySociety's extended statuses for an update, from what the event did to the case.
UPDATE_STATUS = {
    EventKind.REPORT: "OPEN",
    EventKind.DISPATCH: "ACTION_SCHEDULED",
    EventKind.ACCEPT: "IN_PROGRESS",
    EventKind.START: "IN_PROGRESS",
    EventKind.PAUSE: "INVESTIGATING",
    EventKind.RESUME: "IN_PROGRESS",
    EventKind.RESOLVE: "FIXED",
    EventKind.RATE: "CLOSED",
    EventKind.CLOSE: "CLOSED",
    EventKind.REOPEN: "OPEN",
    EventKind.ESCALATE: "INTERNAL_REFERRAL",
    EventKind.SUPERVISE: "IN_PROGRESS",
}


def update_status(event: CaseEvent, case: Case) -> str:
    if event.kind == EventKind.RESOLVE and case.outcome == "not_ours":
        return "NOT_COUNCILS_RESPONSIBILITY"
    if event.kind in UPDATE_STATUS:
        return UPDATE_STATUS[event.kind]
    return "CLOSED" if case.state in DONE_STATES else "OPEN"


def listed_updates(start, end) -> QuerySet[CaseEvent]:
    return (
        CaseEvent.objects.filter(
            public_q("case__"),
            audience=Audience.PUBLIC,
            case__channel__in=LISTED_CHANNELS,
            occurred_at__gte=start,
            occurred_at__lt=end,
        )
        .select_related("case")
        .order_by("occurred_at", "id")
    )


def update_row(event: CaseEvent) -> dict:
    return {
        "update_id": str(event.pk),
        "service_request_id": event.case.tracking_code,
        "status": update_status(event, event.case),
        "updated_datetime": w3c(event.occurred_at),
        "description": _note(event),
        "media_url": event.data.get("media_url", "") if isinstance(event.data, dict) else "",
    }
