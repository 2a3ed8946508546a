"""mySociety servicerequestupdates: the case's public timeline out, partners' notes in."""

from wangge.cases.actions import accept_case, resolve_case
from wangge.cases.models import Audience, Case, CaseEvent, CaseState, EventKind
from wangge.open311.queries import w3c
from wangge.open311.tests.conftest import body, tree, xml


def test_updates_follow_the_public_timeline(new_request, o311, world):
    new_request()
    case = Case.objects.get()
    accept_case(case, actor=world.urban_handler)
    resolve_case(case, outcome="not_ours", note="属供电公司", actor=world.urban_handler)
    events = list(case.events.filter(audience=Audience.PUBLIC))

    rows = body(o311.get("servicerequestupdates.json"))
    root = xml(o311.get("servicerequestupdates.xml"))

    assert [(r["update_id"], r["status"], r["description"]) for r in rows] == [
        (str(events[0].pk), "OPEN", "已上报"),
        (str(events[1].pk), "ACTION_SCHEDULED", "已派单"),
        (str(events[2].pk), "IN_PROGRESS", "已接单"),
        (str(events[3].pk), "NOT_COUNCILS_RESPONSIBILITY", "已办结"),
    ]
    assert rows[0] == {
        "update_id": str(events[0].pk),
        "service_request_id": case.tracking_code,
        "status": "OPEN",
        "updated_datetime": w3c(events[0].occurred_at),
        "description": "已上报",
        "media_url": "",
    }
    assert [e.tag for e in root] == ["request_update"] * 4
    assert [c.tag for c in root[0]] == [
        "update_id",
        "service_request_id",
        "status",
        "updated_datetime",
        "description",
        "media_url",
    ]


def test_a_partner_update_is_a_public_note_once(new_request, o311, api_key):
    new_request()
    case = Case.objects.get()
    form = {
        "api_key": api_key,
        "service_request_id": case.tracking_code,
        "update_id": "fms-77",
        "status": "open",
        "description": "还是不亮 <script>",
        "updated_datetime": "2026-11-24T10:00:00+08:00",
        "first_name": "秀英",
    }

    first = o311.post("servicerequestupdates.xml", form)
    again = o311.post("servicerequestupdates.json", form)

    note = CaseEvent.objects.get(kind=EventKind.NOTE)
    assert (first.status_code, tree(xml(first))) == (
        201,
        ("service_request_updates", [("request_update", [("update_id", str(note.pk))])]),
    )
    assert (again.status_code, body(again)) == (201, [{"update_id": str(note.pk)}])
    assert (note.case, note.audience, note.reason, note.data["open311_status"]) == (
        case,
        Audience.PUBLIC,
        "还是不亮 <script>",
        "OPEN",
    )
    case.refresh_from_db()
    assert case.state == CaseState.DISPATCHED  # a partner's note never moves the case
    row = body(o311.get(f"requests/{case.tracking_code}.json"))[0]
    assert row["status_notes"] == "还是不亮 <script>"


def test_bad_updates_are_refused(new_request, o311, api_key):
    new_request()
    case = Case.objects.get()
    good = {
        "api_key": api_key,
        "service_request_id": case.tracking_code,
        "update_id": "u1",
        "status": "OPEN",
        "description": "x",
    }
    answers = [
        o311.post("servicerequestupdates.json", {**good, "api_key": ""}),
        o311.post("servicerequestupdates.json", {**good, "status": "MAYBE"}),
        o311.post("servicerequestupdates.json", {**good, "description": ""}),
        o311.post("servicerequestupdates.json", {**good, "service_request_id": "NOPE"}),
        o311.post("servicerequestupdates.json", {**good, "updated_datetime": "today"}),
    ]

    assert [(a.status_code, body(a)[0]["description"]) for a in answers] == [
        (403, "api_key was not provided."),
        (400, "status is not a known update status."),
        (400, "description was not provided."),
        (404, "service_request_id was not found."),
        (400, "updated_datetime is not a W3C date-time with a time zone."),
    ]
    assert CaseEvent.objects.filter(kind=EventKind.NOTE).count() == 0
