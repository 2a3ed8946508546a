"""Moves beyond the happy path: 退单, 挂起, 重办, 上报, 联动处置 and the state table."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from wangge.cases.actions import (
    accept_case,
    close_case,
    dispatch_case,
    escalate_case,
    finish_task,
    pause_case,
    rate_case,
    resolve_case,
    resume_case,
    return_case,
    start_case,
)
from wangge.cases.models import (
    TRANSITIONS,
    CaseState,
    CaseTask,
    Notification,
    Outcome,
    Satisfaction,
    SupervisionOrder,
)
from wangge.grids.models import GridLevel
from wangge.lib.errors import Conflict, IllegalTransition, InvalidInput

TZ = ZoneInfo("Asia/Shanghai")
MONDAY_10 = datetime(2026, 3, 2, 10, 0, tzinfo=TZ)


def test_every_state_but_closed_has_a_way_forward_and_closed_has_none():
    sources = {state for (_, state) in TRANSITIONS}
    assert sources == set(CaseState.values) - {CaseState.CLOSED}


def test_returned_case_goes_back_to_the_dispatcher_and_can_be_redispatched(world, report):
    case = report(category="0401")
    case = dispatch_case(case, unit=world.unit("urban"), actor=world.dispatcher)
    with pytest.raises(InvalidInput):
        return_case(case, reason=" ", actor=world.urban_handler)
    case = return_case(case, reason="供水不归城管", actor=world.urban_handler)
    assert case.state == CaseState.RETURNED
    case = dispatch_case(case, unit=world.unit("water"), actor=world.dispatcher)
    assert (case.state, case.unit) == (CaseState.DISPATCHED, world.unit("water"))
    assert [(e.kind, e.reason) for e in case.events.all()] == [
        ("report", ""),
        ("dispatch", ""),
        ("return", "供水不归城管"),
        ("dispatch", ""),
    ]


def test_pausing_stops_the_clock_for_the_working_time_paused(world, report):
    case = report(now=MONDAY_10)
    case = dispatch_case(case, unit=world.unit("urban"), actor=world.dispatcher, now=MONDAY_10)
    due_before = case.due_at
    case = accept_case(case, actor=world.urban_handler, now=MONDAY_10)
    case = pause_case(case, reason="等待产权单位答复", actor=world.urban_handler, now=MONDAY_10)
    # Paused from Monday 10:00 to Wednesday 10:00: two working days.
    case = resume_case(case, actor=world.urban_handler, now=datetime(2026, 3, 4, 10, 0, tzinfo=TZ))
    assert case.state == CaseState.IN_PROGRESS
    # 5 working days from Monday 10:00 is next Monday 10:00; two more is Wednesday.
    assert due_before.astimezone(TZ) == datetime(2026, 3, 9, 10, 0, tzinfo=TZ)
    assert case.due_at.astimezone(TZ) == datetime(2026, 3, 11, 10, 0, tzinfo=TZ)


def test_unsatisfied_rating_reopens_the_case_under_supervision_with_a_new_clock(world, report):
    case = report(category="0201", now=MONDAY_10)
    case = dispatch_case(case, unit=world.unit("urban"), actor=world.dispatcher, now=MONDAY_10)
    case = accept_case(case, actor=world.urban_handler, now=MONDAY_10)
    case = resolve_case(
        case, outcome=Outcome.EXPLAINED, note="已解释", actor=world.urban_handler, now=MONDAY_10
    )
    later = datetime(2026, 3, 3, 10, 0, tzinfo=TZ)
    case = rate_case(
        case,
        satisfaction=Satisfaction.UNSATISFIED,
        comment="灯还是不亮",
        actor=world.dispatcher,
        now=later,
    )
    assert (case.state, case.satisfaction, case.outcome) == (
        CaseState.REOPENED,
        Satisfaction.UNSATISFIED,
        "",
    )
    assert case.due_at.astimezone(TZ) == datetime(2026, 3, 10, 10, 0, tzinfo=TZ)
    order = SupervisionOrder.objects.get(case=case)
    assert (order.unit, order.state, order.level) == (world.unit("urban"), "open", "command_centre")
    assert [e.kind for e in case.events.all()][-3:] == ["rate", "reopen", "supervise"]
    # The same unit takes it again.
    case = accept_case(case, actor=world.urban_handler, now=later)
    assert case.state == CaseState.ACCEPTED


def test_grid_worker_escalates_to_the_township_and_the_township_to_the_county(world, report):
    case = report(category="0301")
    case = dispatch_case(case, assignee=world.grid_worker_a1, actor=world.dispatcher)
    case = accept_case(case, actor=world.grid_worker_a1)
    case = escalate_case(case, reason="涉及多户, 网格无法调解", actor=world.grid_worker_a1)
    town = world.townships[0]
    assert (case.state, case.handling_cell, case.assignee, case.due_at) == (
        CaseState.NEW,
        town,
        None,
        None,
    )
    case = escalate_case(case, reason="需要县级部门联动", actor=world.township_dispatcher_a)
    assert (case.handling_cell, case.escalation_count) == (world.county, 2)
    with pytest.raises(Conflict):
        escalate_case(case, reason="再上报", actor=world.dispatcher)
    escalations = [e.data for e in case.events.filter(kind="escalate")]
    assert [(d["from_code"], d["to_code"]) for d in escalations] == [
        (case.cell.code, town.code),
        (town.code, world.county.code),
    ]


def test_case_resolved_by_the_grid_worker_counts_as_closed_at_grid_level(world, report):
    case = report(category="0302")
    case = dispatch_case(case, assignee=world.grid_worker_a1, actor=world.dispatcher)
    case = accept_case(case, actor=world.grid_worker_a1)
    case = resolve_case(case, outcome=Outcome.SOLVED, note="已清理", actor=world.grid_worker_a1)
    assert case.resolved_level == GridLevel.MICRO_GRID


def test_joint_handling_gives_lead_and_helpers_their_own_tasks(world, report):
    case = report("小区内管道破裂路面塌陷", category="0401")
    case = dispatch_case(
        case,
        unit=world.unit("water"),
        helpers=[world.unit("urban"), world.unit("transport")],
        actor=world.dispatcher,
    )
    tasks = {t.unit.code: t.role for t in CaseTask.objects.filter(case=case)}
    assert tasks == {"water": "lead", "urban": "helper", "transport": "helper"}
    notified = sorted(n.unit.code for n in Notification.objects.filter(case=case))
    assert notified == ["transport", "urban", "water"]
    finish_task(case, unit=world.unit("urban"), note="已围挡", actor=world.urban_handler)
    with pytest.raises(Conflict):
        finish_task(case, unit=world.unit("urban"), note="again", actor=world.urban_handler)
    assert case.events.filter(kind="task_done").count() == 1


def test_closing_a_new_case_needs_a_reason(world, report):
    case = report()
    with pytest.raises(InvalidInput):
        close_case(case, actor=world.dispatcher)
    case = close_case(case, reason="重复工单", actor=world.dispatcher)
    assert case.state == CaseState.CLOSED


def test_an_illegal_move_names_the_current_state(world, report):
    case = report()
    with pytest.raises(IllegalTransition) as err:
        start_case(case, actor=world.urban_handler)
    assert err.value.status == 409
    assert "New" in err.value.text() or "待受理" in err.value.text()
