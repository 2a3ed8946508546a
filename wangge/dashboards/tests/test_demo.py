"""`wangge demo`'s data: a county where every state and every deadline colour can be seen,
built through the real actions, and loaded twice without a single duplicate."""

from collections import Counter
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from wangge.accounts.models import Assignment, User
from wangge.accounts.queries import on_duty_grid_workers
from wangge.audit.models import AuditEntry
from wangge.cases.deadlines import with_colour
from wangge.cases.models import (
    OPEN_STATES,
    Case,
    CaseEvent,
    CaseState,
    CaseTask,
    Notification,
    SupervisionOrder,
)
from wangge.dashboards.demo import load_demo
from wangge.grids.models import GridCell
from wangge.people.models import PartyMember, PartyOrg, PartyOrgLevel

SMALL = {"townships": 2, "communities": 2, "grids_per_community": 2, "cases": 60}


def test_demo_cases_reach_every_state_and_open_cases_show_every_colour(world):
    load_demo(**SMALL)

    # The seeded random decides every case's story, so the counts are the same everywhere.
    assert Counter(Case.objects.values_list("state", flat=True)) == {
        CaseState.NEW: 4,
        CaseState.DISPATCHED: 5,
        CaseState.ACCEPTED: 6,
        CaseState.IN_PROGRESS: 5,
        CaseState.PAUSED: 2,
        CaseState.RETURNED: 2,
        CaseState.RESOLVED: 3,
        CaseState.RATED: 4,
        CaseState.REOPENED: 1,
        CaseState.CLOSED: 28,
    }
    open_cases = with_colour(Case.objects.filter(state__in=OPEN_STATES), now=timezone.now())
    colours = Counter(open_cases.values_list("colour", flat=True))
    # "" is a case waiting for dispatch (new or returned): no clock runs.
    assert sorted(colours) == ["", "green", "red", "yellow"]
    assert colours["green"] > colours["red"]


def test_every_timeline_starts_with_the_report_and_runs_forward_in_time(world):
    now = timezone.now()
    load_demo(**SMALL, now=now)

    cases = Case.objects.prefetch_related("events").order_by("pk")
    for case in cases:
        events = sorted(case.events.all(), key=lambda e: e.pk)
        times = [e.occurred_at for e in events]
        assert events[0].kind == "report", case.title
        assert events[0].occurred_at == case.reported_at
        assert times == sorted(times), case.title
        assert times[-1] < now
    oldest = min(c.reported_at for c in cases)
    assert now - oldest < timedelta(days=61)


def test_demo_shows_escalation_joint_handling_supervision_and_redispatch(world):
    load_demo(**SMALL)

    escalations = CaseEvent.objects.filter(kind="escalate")
    assert {(e.data["from_code"][:9], e.data["to_code"]) for e in escalations} <= {
        (t.code, t.code) for t in world.townships
    }
    assert escalations.count() == Case.objects.filter(escalation_count=1).count() == 2
    joint = CaseTask.objects.filter(role="helper").select_related("case", "unit")
    assert {(t.case.category.code, t.unit.code) for t in joint} <= {
        ("0203", "market"), ("0501", "police"), ("0701", "justice"), ("0401", "housing"),
        ("0102", "land"), ("1001", "health"), ("0502", "market"), ("0601", "urban"),
    }  # fmt: skip
    assert joint.count() == 9
    # Returned, then sent again to the right unit.
    redispatched = [
        c
        for c in Case.objects.filter(events__kind="return").distinct()
        if [e.kind for e in c.events.all()][:4] == ["report", "dispatch", "return", "dispatch"]
    ]
    assert len(redispatched) == 7
    assert {c.unit.code for c in redispatched} == {
        (c.category.owner or c.category.parent.owner).code for c in redispatched
    }
    # Overdue cases under 督办, and the reopened one watched by its automatic order.
    assert Counter(SupervisionOrder.objects.values_list("level", flat=True)) == {
        "command_centre": 6
    }
    ratings = Counter(Case.objects.exclude(satisfaction="").values_list("satisfaction", flat=True))
    assert ratings == {"satisfied": 23, "basically": 5, "unsatisfied": 1}


def test_anonymous_reporters_leave_no_name_or_phone_and_phones_are_stored_encrypted(world):
    load_demo(**SMALL)

    anonymous = Case.objects.filter(anonymous=True)
    assert [(c.reporter_name, c.reporter_phone) for c in anonymous] == [("", "")] * 3
    assert Case.objects.exclude(reporter_phone="").count() == 29
    case = Case.objects.exclude(reporter_phone="").order_by("pk").first()
    with connection.cursor() as cur:
        cur.execute("SELECT reporter_phone FROM cases_case WHERE id = %s", [case.pk])
        (stored,) = cur.fetchone()
    assert case.reporter_phone.isdigit()
    assert len(case.reporter_phone) == 11
    assert case.reporter_phone not in stored


def test_every_grid_has_its_grid_worker_and_its_party_branch(world):
    load_demo(**SMALL)

    grids = sorted(world.grids, key=lambda g: g.code)
    expected = {world.grid_a1.code: "grid_worker_a1", world.grid_b1.code: "grid_worker_b1"}
    assert [on_duty_grid_workers(g)[0].username for g in grids] == [
        expected.get(g.code, f"gw_{g.code}") for g in grids
    ]
    branches = PartyOrg.objects.filter(level=PartyOrgLevel.BRANCH).select_related("parent")
    assert sorted((b.cell.code, b.parent.cell.code) for b in branches) == [
        (g.code, g.parent.code) for g in grids
    ]
    groups = PartyOrg.objects.filter(level=PartyOrgLevel.GROUP).select_related("parent", "cell")
    assert sorted(g.cell.path for g in groups) == sorted(
        GridCell.objects.filter(level=6).values_list("path", flat=True)
    )
    assert all(g.cell.is_within(g.parent.cell) for g in groups)
    for org in PartyOrg.objects.all():
        assert [m.org_id for m in org.members.all()] == [org.pk] * org.members.count()
        assert all(m.cell.is_within(org.cell) for m in org.members.all())
    households = PartyOrg.objects.filter(level=PartyOrgLevel.CENTRAL_HOUSEHOLD)
    assert [[m.is_central_household for m in h.members.all()] for h in households] == [
        [True]
    ] * len(grids)


def test_loading_the_demo_twice_adds_nothing(world):
    load_demo(**SMALL)
    models = [
        Case, CaseEvent, User, GridCell, Assignment, PartyOrg, PartyMember, AuditEntry,
        SupervisionOrder, Notification, CaseTask,
    ]  # fmt: skip
    before = {m.__name__: m.objects.count() for m in models}

    summary = load_demo(**SMALL)

    assert {m.__name__: m.objects.count() for m in models} == before
    assert summary.endswith(f"60 cases, {before['CaseEvent']} events")
