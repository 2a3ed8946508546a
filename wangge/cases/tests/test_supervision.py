"""督办 and 批办: a supervisor's order answered by the unit, a leader's instruction and its
result; each answered once."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from wangge.cases.actions import (
    accept_case,
    answer_supervision,
    dispatch_case,
    instruct_case,
    record_instruction_result,
    supervise_case,
)
from wangge.cases.models import LeaderInstruction, SupervisionLevel, SupervisionOrder
from wangge.cases.sweep import sweep
from wangge.lib.errors import Conflict, InvalidInput

SH = ZoneInfo("Asia/Shanghai")


def at(m, d, hh=10, mm=0):
    return datetime(2026, m, d, hh, mm, tzinfo=SH)


def accepted(world, report):
    case = report("小区路灯不亮", category="0201", now=at(3, 2, 9, 30))
    case = dispatch_case(case, unit=world.unit("urban"), actor=world.dispatcher, now=at(3, 2))
    return accept_case(case, actor=world.urban_handler, now=at(3, 2, 11))


def timeline(case) -> list[tuple[str, str, str]]:
    return [(e.kind, e.actor_name, e.reason) for e in case.events.all()]


def test_a_supervisor_opens_an_order_and_the_unit_answers_it(world, report):
    case = accepted(world, report)
    order = supervise_case(
        case,
        level=SupervisionLevel.DISCIPLINE,
        demand="群众多次反映，请三日内办结并说明原因",
        due_at=at(3, 5, 17),
        actor=world.supervisor,
        now=at(3, 3),
    )
    assert (order.case, order.unit, order.state, order.opened_by, order.due_at) == (
        case,
        world.unit("urban"),
        "open",
        world.supervisor,
        at(3, 5, 17),
    )
    assert [(n.kind, n.unit, n.payload) for n in case.notifications.filter(kind="supervision")] == [
        (
            "supervision",
            world.unit("urban"),
            {
                "order": order.pk,
                "level": "discipline",
                "demand": "群众多次反映，请三日内办结并说明原因",
            },
        )
    ]

    order = answer_supervision(
        order, answer="已安排施工队，周四前更换", actor=world.urban_handler, now=at(3, 4)
    )

    assert (order.state, order.answer, order.answered_by, order.answered_at) == (
        "answered",
        "已安排施工队，周四前更换",
        world.urban_handler,
        at(3, 4),
    )
    assert timeline(case)[-2:] == [
        ("supervise", str(world.supervisor), "群众多次反映，请三日内办结并说明原因"),
        ("supervision_answer", str(world.urban_handler), "已安排施工队，周四前更换"),
    ]
    assert case.events.get(kind="supervision_answer").data == {"order": order.pk, "late": False}


def test_a_second_answer_is_a_conflict_and_changes_nothing(world, report):
    case = accepted(world, report)
    order = supervise_case(
        case,
        level=SupervisionLevel.COMMAND_CENTRE,
        demand="请说明进展",
        due_at=at(3, 5),
        actor=world.supervisor,
        now=at(3, 3),
    )
    stale = SupervisionOrder.objects.get(pk=order.pk)
    answer_supervision(order, answer="明日完成", actor=world.urban_handler, now=at(3, 4))
    events_before = timeline(case)

    with pytest.raises(Conflict):
        answer_supervision(
            stale, answer="改口：下周完成", actor=world.urban_handler, now=at(3, 4, 12)
        )

    order.refresh_from_db()
    assert (order.state, order.answer, order.answered_at) == ("answered", "明日完成", at(3, 4))
    assert timeline(case) == events_before


def test_an_answer_after_the_deadline_is_marked_late(world, report):
    case = accepted(world, report)
    order = supervise_case(
        case,
        level=SupervisionLevel.COMMAND_CENTRE,
        demand="请说明进展",
        due_at=at(3, 4),
        actor=world.supervisor,
        now=at(3, 3),
    )
    answer_supervision(order, answer="已完成", actor=world.urban_handler, now=at(3, 4, 10, 1))
    assert case.events.get(kind="supervision_answer").data == {"order": order.pk, "late": True}


def test_an_order_needs_a_demand_and_a_future_deadline(world, report):
    case = accepted(world, report)
    with pytest.raises(InvalidInput) as no_demand:
        supervise_case(
            case,
            level=SupervisionLevel.COMMAND_CENTRE,
            demand="  ",
            due_at=at(3, 5),
            actor=world.supervisor,
            now=at(3, 3),
        )
    with pytest.raises(InvalidInput) as past:
        supervise_case(
            case,
            level=SupervisionLevel.COMMAND_CENTRE,
            demand="请说明进展",
            due_at=at(3, 3),
            actor=world.supervisor,
            now=at(3, 3),
        )
    assert (list(no_demand.value.fields), list(past.value.fields)) == (["demand"], ["due_at"])
    assert SupervisionOrder.objects.count() == 0
    assert [e.kind for e in case.events.all()] == ["report", "dispatch", "accept"]


def test_the_unit_answers_the_order_the_sweep_opened_for_a_red_case(world, report):
    case = accepted(world, report)
    sweep(now=at(3, 9, 11))
    order = SupervisionOrder.objects.get(case=case)

    order = answer_supervision(
        order, answer="配件到货延误，明日更换", actor=world.urban_handler, now=at(3, 10, 9)
    )

    assert (order.level, order.opened_by.username, order.state) == (
        "command_centre",
        "system:sweep",
        "answered",
    )
    assert [e.kind for e in case.events.all()] == [
        "report",
        "dispatch",
        "accept",
        "overdue",
        "supervise",
        "supervision_answer",
    ]


def test_a_leaders_instruction_is_tracked_to_its_result_once(world, report):
    case = accepted(world, report)
    item = instruct_case(
        case, text="请城管局本周内解决并回复群众", actor=world.leader, now=at(3, 3)
    )
    assert (item.leader, item.given_at, item.result, item.result_at) == (
        world.leader,
        at(3, 3),
        "",
        None,
    )
    assert [(n.kind, n.unit, n.payload) for n in case.notifications.filter(kind="instruction")] == [
        ("instruction", world.unit("urban"), {"instruction": item.pk})
    ]

    stale = LeaderInstruction.objects.get(pk=item.pk)
    item = record_instruction_result(
        item, result="已更换路灯并电话回复", actor=world.urban_handler, now=at(3, 4)
    )
    with pytest.raises(Conflict):
        record_instruction_result(stale, result="重复登记", actor=world.dispatcher, now=at(3, 5))

    item.refresh_from_db()
    assert (item.result, item.result_at) == ("已更换路灯并电话回复", at(3, 4))
    assert timeline(case)[-2:] == [
        ("instruct", str(world.leader), "请城管局本周内解决并回复群众"),
        ("instruction_result", str(world.urban_handler), "已更换路灯并电话回复"),
    ]
