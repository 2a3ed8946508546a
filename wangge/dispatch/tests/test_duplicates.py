"""并案 at intake: a repeat of a recent open case joins it; a likely one waits for a dispatcher;
sensor alarms from one device group into one case."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from wangge.accounts.actions import system_user
from wangge.cases.actions import close_case, dispatch_case
from wangge.cases.models import Case, CaseState, Channel, Notification
from wangge.cases.tests.test_api_intake import api, intake, post
from wangge.dispatch.actions import auto_dispatch
from wangge.dispatch.duplicates import find_duplicates
from wangge.grids.models import GridCell, GridLevel

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
LAMP = "幸福小区东门路灯不亮，晚上一片漆黑"
LAMP_AGAIN = "幸福小区东门路灯不亮了，晚上一片漆黑"


@pytest.fixture
def arrive(report):
    """A case taken in as every channel does: reported, then routed in the same breath."""

    def _arrive(title, *, at, **kw):
        case = report(title, now=at, **kw)
        return auto_dispatch(case, actor=system_user("dispatch-rules"), now=at)

    return _arrive


def _state(case):
    case = Case.objects.get(pk=case.pk)
    return case.state, case.master_id


def test_a_near_identical_complaint_is_merged_and_its_reporter_hears_the_master_dispatched(
    world, arrive
):
    master = arrive(LAMP, at=T0, reporter_phone="13800000001")
    repeat = arrive(LAMP_AGAIN, at=T0 + timedelta(hours=2), reporter_phone="13800000002")

    assert (repeat.state, repeat.master) == (CaseState.CLOSED, master)
    merge = repeat.events.get(kind="merge")
    assert (merge.actor.username, merge.data["master"], merge.audience) == (
        "system:dedupe",
        master.tracking_code,
        "public",
    )
    assert [e.kind for e in repeat.events.all()] == ["report", "merge", "close"]
    assert repeat.recommendations.count() == 0  # nothing to route: it is not a case of its own

    dispatch_case(
        master, unit=world.unit("urban"), actor=world.dispatcher, now=T0 + timedelta(hours=3)
    )
    assert [(n.kind, n.case, n.payload.get("state")) for n in Notification.objects.all()] == [
        ("master_moved", repeat, "dispatched"),  # the repeat's reporter
        ("new_case", master, None),  # the unit, as for every dispatch
    ]


def test_the_same_complaint_in_another_township_is_a_case_of_its_own(world, arrive):
    arrive(LAMP, at=T0)
    elsewhere = arrive(LAMP, at=T0 + timedelta(hours=1), cell=world.grid_b1, category="0201")
    assert (elsewhere.state, elsewhere.master) == (CaseState.DISPATCHED, None)
    assert find_duplicates(elsewhere) == []


@pytest.mark.parametrize(("days", "merged"), [(13, True), (15, False)])
def test_only_cases_of_the_last_fourteen_days_are_masters(world, arrive, days, merged):
    master = arrive(LAMP, at=T0)
    repeat = arrive(LAMP_AGAIN, at=T0 + timedelta(days=days))
    assert _state(repeat) == ((CaseState.CLOSED, master.pk) if merged else (CaseState.NEW, None))


def test_a_closed_case_is_no_master(world, arrive):
    old = arrive(LAMP, at=T0)
    close_case(old, reason="重复上报", actor=world.dispatcher, now=T0 + timedelta(hours=1))
    again = arrive(LAMP_AGAIN, at=T0 + timedelta(hours=2), category="0201")
    assert (again.state, again.master) == (CaseState.DISPATCHED, None)


def test_a_likely_repeat_waits_for_the_dispatcher_with_the_master_suggested(world, arrive):
    master = arrive(LAMP, at=T0, category="0201")
    likely = arrive("幸福小区路灯不亮", at=T0 + timedelta(hours=1), category="0201")

    assert _state(likely) == (CaseState.NEW, None)  # the rules alone would have dispatched it
    rows = likely.recommendations.get().candidates
    assert [(r["rule"], r["certain"]) for r in rows] == [
        ("category_owner", True),
        ("duplicate", False),
    ]
    assert (rows[1]["master"], rows[1]["master_id"], rows[1]["score"]) == (
        master.tracking_code,
        master.pk,
        pytest.approx(0.769, abs=0.001),  # 0.6·0.615 text + 0.3 same grid + 0.1·0.997 fresh
    )
    assert master.events.filter(kind="merge").count() == 0


def test_in_another_grid_of_the_community_even_the_same_words_are_only_suggested(world, arrive):
    sibling = (
        GridCell.objects.filter(parent=world.grid_a1.parent, level=GridLevel.GRID)
        .exclude(pk=world.grid_a1.pk)
        .get()
    )
    master = arrive(LAMP, at=T0)
    same_words = arrive(LAMP, at=T0 + timedelta(hours=1), cell=sibling)
    assert _state(same_words) == (CaseState.NEW, None)
    assert [(c.case, round(c.score, 3)) for c in find_duplicates(same_words)] == [
        (master, 0.775)  # 0.6 text + 0.3·0.25 community + 0.1·0.997
    ]


def test_sensor_alarms_of_one_device_within_half_an_hour_become_one_case(world, arrive):
    def alarm(title, minutes, device="WM-17", cell=None):
        return arrive(
            title,
            at=T0 + timedelta(minutes=minutes),
            channel=Channel.SENSOR,
            category="0401",
            external_ref=device,
            cell=cell,
        )

    first = alarm("水压低于阈值", 0)
    repeats = [alarm("水压异常报警", 10), alarm("管网压力持续偏低", 25)]
    other_device = alarm("水压低于阈值", 12, device="WM-90", cell=world.grid_b1)
    later = alarm("管网压力持续偏低", 45)  # no longer grouped, and other words: its own case

    assert [_state(c) for c in [first, *repeats, other_device, later]] == [
        (CaseState.DISPATCHED, None),
        (CaseState.CLOSED, first.pk),
        (CaseState.CLOSED, first.pk),
        (CaseState.DISPATCHED, None),
        (CaseState.DISPATCHED, None),
    ]


def test_a_repeat_posted_to_the_api_is_merged_into_the_first(world):
    client = api(world.dispatcher)
    first = post(client, "", intake(world, title=LAMP, reporter_phone="13800000001"))
    second = post(client, "", intake(world, title=LAMP_AGAIN, reporter_phone="13800000002"))
    assert (first.status_code, second.status_code) == (201, 201)
    assert (first.json()["state"], second.json()["state"]) == ("new", "closed")
    assert _state(Case.objects.get(pk=second.json()["id"])) == (
        CaseState.CLOSED,
        first.json()["id"],
    )


def test_finding_repeats_reads_the_candidates_in_one_query(
    world, report, django_assert_num_queries
):
    for hours in (1, 2, 3):
        report(LAMP, now=T0 + timedelta(hours=hours))
    case = report(LAMP_AGAIN, now=T0 + timedelta(hours=4))
    case = Case.objects.select_related("cell").get(pk=case.pk)
    with django_assert_num_queries(2):  # the cell's ancestors, then the candidates
        found = find_duplicates(case)
    assert [c.case.reported_at for c in found] == [  # the same words: the freshest first
        T0 + timedelta(hours=3),
        T0 + timedelta(hours=2),
        T0 + timedelta(hours=1),
    ]


def test_a_case_without_a_place_compares_only_what_it_says(world, arrive, report):
    # a hotline call without coordinates lands on the county: place counts nothing
    arrive(LAMP, at=T0)
    hotline = report(LAMP_AGAIN, now=T0 + timedelta(hours=1), lon=None, lat=None)
    assert hotline.cell == world.county
    assert [round(c.score, 3) for c in find_duplicates(hotline)] == [0.656]
