"""The closed loop 发现 → 上报 → 分派 → 处置 → 反馈 → 评价, through actions."""

import pytest

from wangge.cases.actions import (
    accept_case,
    close_case,
    dispatch_case,
    rate_case,
    resolve_case,
    start_case,
)
from wangge.cases.models import Case, CaseState, Outcome, Satisfaction
from wangge.lib.errors import CaseChangedMeanwhile, IllegalTransition


def test_case_goes_round_the_whole_loop_and_the_timeline_keeps_every_step(world, report):
    case = report("小区路灯不亮", category="0201")
    assert (case.state, case.cell.code) == (CaseState.NEW, world.grid_a1.code + "01")

    case = dispatch_case(case, unit=world.unit("urban"), actor=world.dispatcher)
    case = accept_case(case, actor=world.urban_handler)
    case = start_case(case, actor=world.urban_handler)
    case = resolve_case(case, outcome=Outcome.SOLVED, note="已更换灯泡", actor=world.urban_handler)
    case = rate_case(case, satisfaction=Satisfaction.SATISFIED, actor=world.dispatcher)
    case = close_case(case, actor=world.dispatcher)

    assert (case.state, case.outcome, case.satisfaction) == (
        CaseState.CLOSED,
        Outcome.SOLVED,
        Satisfaction.SATISFIED,
    )
    assert [e.kind for e in case.events.all()] == [
        "report",
        "dispatch",
        "accept",
        "start",
        "resolve",
        "rate",
        "close",
    ]
    assert case.version == 7


def test_second_dispatcher_loses_and_timeline_keeps_one_dispatch(world, report):
    case = report("小区路灯不亮")
    stale = Case.objects.get(pk=case.pk)
    dispatch_case(case, unit=world.unit("urban"), actor=world.dispatcher)
    with pytest.raises(CaseChangedMeanwhile):
        dispatch_case(stale, unit=world.unit("water"), actor=world.dispatcher_2)
    case.refresh_from_db()
    assert (case.unit, case.state) == (world.unit("urban"), CaseState.DISPATCHED)
    assert [e.kind for e in case.events.all()] == ["report", "dispatch"]


def test_resolving_a_case_nobody_accepted_is_refused_and_changes_nothing(world, report):
    case = report()
    with pytest.raises(IllegalTransition):
        resolve_case(case, outcome=Outcome.SOLVED, note="x", actor=world.urban_handler)
    case.refresh_from_db()
    assert (case.state, case.version, case.events.count()) == (CaseState.NEW, 1, 1)
