"""并案 and 定位: a repeat follows its master case; a case without coordinates is placed."""

import pytest

from wangge.cases.actions import (
    accept_case,
    dispatch_case,
    link_duplicate,
    relocate_case,
    report_case,
)
from wangge.cases.models import Case, CaseState, Channel, LocationFlag, Notification
from wangge.lib.errors import Conflict, IllegalTransition, InvalidInput


def test_a_repeat_is_closed_into_its_master_and_its_reporter_follows_the_master(world, report):
    master = report("XX小区东门路灯不亮", reporter_phone="13800000001")
    repeat = report("东门那盏路灯一直不亮", reporter_phone="13800000002")
    repeat = link_duplicate(repeat, master=master, score=0.93, actor=world.dispatcher)
    assert (repeat.master, repeat.state) == (master, CaseState.CLOSED)
    assert [(e.kind, e.audience) for e in repeat.events.all()] == [
        ("report", "public"),
        ("merge", "public"),
        ("close", "public"),
    ]

    master = dispatch_case(master, unit=world.unit("urban"), actor=world.dispatcher)
    accept_case(master, actor=world.urban_handler)
    told = Notification.objects.filter(kind="master_moved").order_by("id")
    assert [(n.case, n.payload["step"], n.payload["state"]) for n in told] == [
        (repeat, "dispatch", "dispatched"),
        (repeat, "accept", "accepted"),
    ]


def test_a_case_already_in_hand_keeps_its_state_when_linked(world, report):
    master = report("路面塌陷")
    repeat = dispatch_case(
        report("路面塌陷了"), unit=world.unit("transport"), actor=world.dispatcher
    )
    repeat = link_duplicate(repeat, master=master, score=0.8, actor=world.dispatcher)
    assert (repeat.master, repeat.state) == (master, CaseState.DISPATCHED)


def test_linking_twice_or_to_a_repeat_is_refused_and_changes_nothing(world, report):
    master, repeat, third = report("a"), report("b"), report("c")
    link_duplicate(repeat, master=master, score=0.9, actor=world.dispatcher)
    with pytest.raises(Conflict):
        link_duplicate(
            Case.objects.get(pk=repeat.pk), master=third, score=0.9, actor=world.dispatcher
        )
    with pytest.raises(InvalidInput):
        link_duplicate(
            third, master=Case.objects.get(pk=repeat.pk), score=0.9, actor=world.dispatcher
        )
    assert (Case.objects.get(pk=repeat.pk).master, Case.objects.get(pk=third.pk).master) == (
        master,
        None,
    )
    assert third.events.count() == 1


def test_a_hotline_case_without_coordinates_is_placed_in_the_named_grid(world):
    case, _ = report_case(channel=Channel.HOTLINE, title="凤城街道某小区楼道堆物", actor=None)
    assert (case.cell, case.location_flag) == (world.county, LocationFlag.NONE)
    case = relocate_case(case, cell=world.grid_a1, how="place-name", actor=None)
    case.refresh_from_db()
    assert (case.cell, case.handling_cell, case.location_flag) == (
        world.grid_a1,
        world.grid_a1,
        LocationFlag.OK,
    )
    event = case.events.get(kind="relocate")
    assert (event.data["from"], event.data["to"], event.audience) == (
        world.county.code,
        world.grid_a1.code,
        "internal",
    )


def test_a_case_in_hand_is_not_moved_by_place_extraction(world, report):
    case = dispatch_case(report(), unit=world.unit("urban"), actor=world.dispatcher)
    with pytest.raises(IllegalTransition):
        relocate_case(case, cell=world.grid_b1, how="place-name", actor=None)
    assert Case.objects.get(pk=case.pk).cell == case.cell


def test_the_tracking_page_of_a_repeat_points_at_the_master(world, report, client):
    master = report("路灯不亮")
    repeat = link_duplicate(report("路灯坏了"), master=master, score=0.9, actor=world.dispatcher)
    html = client.get(f"/track/{repeat.tracking_code}/").content.decode()
    assert f"已与先前反映的 {master.tracking_code} 合并办理" in html
