"""智能分派 v0: rules route by category owner or on-duty grid worker; every suggestion is kept."""

from wangge.accounts.actions import system_user
from wangge.accounts.models import Assignment
from wangge.cases.models import CaseState
from wangge.dispatch.actions import auto_dispatch, dispatch_by_dispatcher, route_case
from wangge.dispatch.models import DispatchRecommendation


def test_a_street_light_goes_to_the_urban_management_bureau(world, report):
    case = report("路灯不亮", category="0201")
    rec = route_case(case)
    assert rec.router == "rules-v0"
    assert [(c["rule"], c["unit"], c["assignee"], c["certain"]) for c in rec.candidates] == [
        ("category_owner", world.unit("urban").pk, None, True)
    ]


def test_a_neighbour_dispute_goes_to_the_on_duty_grid_worker_then_the_deputy(world, report):
    case = report("邻里纠纷", category="0301")
    rec = route_case(case)
    assert [(c["rule"], c["assignee"], c["certain"]) for c in rec.candidates] == [
        ("grid_worker", world.grid_worker_a1.pk, True),
        ("grid_worker", world.grid_deputy_a1.pk, False),
    ]


def test_auto_dispatch_sends_a_certain_case_and_records_the_choice(world, report):
    case = report("邻里纠纷", category="0301")
    rules = system_user("dispatch-rules")
    case = auto_dispatch(case, actor=rules)
    assert (case.state, case.unit, case.assignee) == (
        CaseState.DISPATCHED,
        None,
        world.grid_worker_a1,
    )
    rec = DispatchRecommendation.objects.get(case=case)
    assert (rec.chosen_unit, rec.chosen_by) == (None, rules)
    assert [(e.kind, e.actor_name) for e in case.events.all()] == [
        ("report", "匿名群众（网页/H5）"),
        ("dispatch", "系统(dispatch-rules)"),
    ]


def test_a_case_without_category_waits_for_a_dispatcher_with_an_empty_suggestion(world, report):
    case = report("说不清的问题")
    case = auto_dispatch(case, actor=system_user("dispatch-rules"))
    assert (case.state, case.unit, case.assignee) == (CaseState.NEW, None, None)
    rec = DispatchRecommendation.objects.get(case=case)
    assert (rec.candidates, rec.chosen_unit, rec.chosen_by) == ([], None, None)
    assert [e.kind for e in case.events.all()] == ["report"]


def test_a_grid_level_case_with_nobody_on_duty_suggests_the_township_office_but_waits(
    world, report
):
    Assignment.objects.filter(user__in=[world.grid_worker_a1, world.grid_deputy_a1]).update(
        is_active=False
    )
    case = report("楼道杂物", category="0302")
    case = auto_dispatch(case, actor=system_user("dispatch-rules"))
    township_office = world.unit(world.townships[0].code)
    assert case.state == CaseState.NEW
    rec = DispatchRecommendation.objects.get(case=case)
    assert [(c["rule"], c["unit"], c["certain"]) for c in rec.candidates] == [
        ("township_office", township_office.pk, False)
    ]


def test_a_category_without_its_own_owner_goes_to_its_parents_owner(world, report):
    child = world.category("0202")
    child.owner = None
    child.save(update_fields=["owner"])
    case = report("垃圾没人收", category="0202")
    rec = route_case(case)
    # The reason names the owner and the ancestor it was found on, in any language.
    assert [
        (c["unit"], "县城市管理局" in c["why"], "市容环境" in c["why"]) for c in rec.candidates
    ] == [(world.unit("urban").pk, True, True)]


def test_the_dispatchers_own_choice_is_written_on_the_suggestion(world, report):
    case = report("路灯不亮", category="0201")
    route_case(case)
    case = dispatch_by_dispatcher(
        case, actor=world.dispatcher, unit=world.unit("housing"), helpers=[world.unit("urban")]
    )
    rec = DispatchRecommendation.objects.get(case=case)
    assert (rec.candidates[0]["unit"], rec.chosen_unit, rec.chosen_by) == (
        world.unit("urban").pk,
        world.unit("housing"),
        world.dispatcher,
    )
    assert sorted((t.unit.code, t.role) for t in case.tasks.all()) == [
        ("housing", "lead"),
        ("urban", "helper"),
    ]
