"""智能分派 with a trained classifier: certain messages go alone, the rest wait with three
suggestions, and every dispatcher correction is kept for the next training run."""

from datetime import timedelta

from django.utils import timezone

from wangge.accounts.actions import system_user
from wangge.cases.actions import accept_case, close_case, resolve_case, return_case
from wangge.cases.models import CaseState
from wangge.dispatch.actions import (
    auto_dispatch,
    deployment_examples,
    dispatch_by_dispatcher,
    train_model,
)
from wangge.dispatch.models import (
    ClassifierModel,
    DispatchRecommendation,
    ExampleSource,
    LabelledExample,
)
from wangge.dispatch.queries import misroute_rates

# Clear messages for four categories, each owned by a different unit.
MESSAGES = {
    ("0201", "urban"): [
        "小区门口路灯不亮了",
        "路灯坏了晚上很黑",
        "街道路灯损坏一直没修",
        "广场的路灯灯泡坏了",
        "路灯杆倒了灯不亮",
        "这条路的路灯全灭了",
        "路灯白天亮晚上不亮",
        "公园路灯坏了好几盏",
    ],
    ("0401", "water"): [
        "家里停水两天了",
        "小区突然停水没有通知",
        "自来水停水什么时候来水",
        "停水了做饭都没有水",
        "楼上停水水压太低",
        "整栋楼停水一整天",
        "今天又停水了没有水用",
        "停水好几个小时还没来水",
    ],
    ("0402", "power"): [
        "小区停电了电梯停运",
        "家里突然停电跳闸",
        "整条街停电没有电",
        "频繁停电电器坏了",
        "晚上停电一片漆黑没有电",
        "停电三个小时还没来电",
        "供电不稳经常停电",
        "村里停电好几天没电",
    ],
    ("0501", "ecology"): [
        "楼下工地夜间施工噪音扰民",
        "广场舞音响噪音太大",
        "酒吧噪音扰民睡不着",
        "装修噪音从早到晚",
        "工厂机器噪音很吵",
        "夜市噪音扰民太吵了",
        "KTV噪音半夜还在唱",
        "货车夜里噪音太吵",
    ],
}


def close_cases(world, report, messages=MESSAGES):
    """Cases reported with their category, dispatched, accepted and resolved: the history a
    deployment trains on."""
    for (code, unit), texts in messages.items():
        for text in texts:
            case = report(text, category=code)
            case = dispatch_by_dispatcher(case, actor=world.dispatcher, unit=world.unit(unit))
            case = accept_case(case, actor=world.dispatcher)
            resolve_case(case, outcome="solved", note="已处理", actor=world.dispatcher)


def trained(world, report, **kw) -> ClassifierModel:
    close_cases(world, report)
    return train_model(deployment_examples(), actor=world.admin, **kw)


def test_a_model_trained_on_closed_cases_sends_a_new_street_light_message_alone(world, report):
    model = trained(world, report)
    case = report("路灯不亮了晚上很黑")
    robot = system_user("dispatch-rules")
    case = auto_dispatch(case, actor=robot)
    assert (case.state, case.category.code, case.unit) == (
        CaseState.DISPATCHED,
        "0201",
        world.unit("urban"),
    )
    rec = DispatchRecommendation.objects.get(case=case)
    assert (rec.router, rec.model, rec.auto, rec.chosen_unit, rec.chosen_by) == (
        model.version,
        model,
        True,
        world.unit("urban"),
        robot,
    )
    assert [e.kind for e in case.events.all()] == ["report", "dispatch"]


def test_below_the_threshold_the_case_waits_with_three_suggestions(world, report):
    model = trained(world, report)
    ClassifierModel.objects.filter(pk=model.pk).update(threshold=1.01)
    case = auto_dispatch(report("路灯不亮了晚上很黑"), actor=system_user("dispatch-rules"))
    case.refresh_from_db()
    assert (case.state, case.category, case.unit, case.assignee) == (
        CaseState.NEW,
        None,
        None,
        None,
    )
    rec = DispatchRecommendation.objects.get(case=case)
    assert (rec.router, rec.auto, rec.chosen_unit) == (model.version, False, None)
    rows = [(c["category"], c["unit"], c["certain"]) for c in rec.candidates]
    assert rows[0] == ("0201", world.unit("urban").pk, False)
    assert [c["certain"] for c in rec.candidates] == [False, False, False]
    scores = [c["score"] for c in rec.candidates]
    assert scores == sorted(scores, reverse=True)
    assert [e.kind for e in case.events.all()] == ["report"]


def test_a_case_reported_with_a_category_keeps_the_rules(world, report):
    trained(world, report)
    case = auto_dispatch(report("路灯不亮了", category="0401"), actor=system_user("r"))
    assert (case.state, case.unit) == (CaseState.DISPATCHED, world.unit("water"))
    rec = DispatchRecommendation.objects.get(case=case)
    assert (rec.router, rec.model, rec.auto) == ("rules-v0", None, True)


def test_a_label_that_is_no_category_falls_back_to_the_rules(world, report):
    pairs = [("路灯不亮", "9901")] * 12 + [("停水了", "9902")] * 12
    train_model(pairs, actor=world.admin)
    case = auto_dispatch(report("路灯不亮"), actor=system_user("r"))
    assert (case.state, case.category) == (CaseState.NEW, None)
    rec = DispatchRecommendation.objects.get(case=case)
    assert (rec.router, rec.model, rec.candidates) == ("rules-v0", None, [])


def test_a_dispatcher_correcting_the_category_leaves_a_labelled_example(world, report):
    model = trained(world, report)
    ClassifierModel.objects.filter(pk=model.pk).update(threshold=1.01)
    case = auto_dispatch(report("路灯不亮了晚上很黑"), actor=system_user("r"))
    case = dispatch_by_dispatcher(
        case, actor=world.dispatcher, unit=world.unit("power"), category=world.category("0402")
    )
    assert (case.state, case.category.code, case.unit) == (
        CaseState.DISPATCHED,
        "0402",
        world.unit("power"),
    )
    assert list(
        LabelledExample.objects.values_list("text", "label", "source", "case", "created_by")
    ) == [("路灯不亮了晚上很黑", "0402", ExampleSource.CORRECTION, case.pk, world.dispatcher.pk)]
    rec = DispatchRecommendation.objects.get(case=case)
    assert (rec.chosen_unit, rec.chosen_by) == (world.unit("power"), world.dispatcher)
    assert [e.kind for e in case.events.all()] == ["report", "note", "dispatch"]


def test_following_the_suggestion_teaches_nothing_new(world, report):
    model = trained(world, report)
    ClassifierModel.objects.filter(pk=model.pk).update(threshold=1.01)
    case = auto_dispatch(report("路灯不亮了晚上很黑"), actor=system_user("r"))
    dispatch_by_dispatcher(
        case, actor=world.dispatcher, unit=world.unit("urban"), category=world.category("0201")
    )
    assert LabelledExample.objects.count() == 0


def test_a_re_dispatch_after_a_return_keeps_the_reason_and_the_units_only_category(world, report):
    trained(world, report)
    case = auto_dispatch(report("路灯不亮了晚上很黑"), actor=system_user("r"))
    case = return_case(case, reason="不是路灯，是整片停水", actor=world.urban_handler)
    # the water company owns one leaf category (停水), so the unit alone names it
    case = dispatch_by_dispatcher(case, actor=world.dispatcher, unit=world.unit("water"))
    assert list(LabelledExample.objects.values_list("label", "source", "reason", "case")) == [
        ("0401", ExampleSource.RETURN, "不是路灯，是整片停水", case.pk)
    ]


def test_a_unit_owning_several_categories_does_not_say_which_so_nothing_is_kept(world, report):
    trained(world, report)
    case = auto_dispatch(report("家里停水两天了没有水"), actor=system_user("r"))
    assert case.unit == world.unit("water")
    case = return_case(case, reason="是小区管网，不归我们", actor=world.water_handler)
    dispatch_by_dispatcher(case, actor=world.dispatcher, unit=world.unit("urban"))
    assert LabelledExample.objects.count() == 0


def test_corrections_are_trained_on_instead_of_the_cases_category(world, report):
    trained(world, report)
    case = auto_dispatch(report("路灯不亮了晚上很黑"), actor=system_user("r"))
    case = return_case(case, reason="是停水", actor=world.urban_handler)
    case = dispatch_by_dispatcher(case, actor=world.dispatcher, unit=world.unit("water"))
    case = accept_case(case, actor=world.water_handler)
    resolve_case(case, outcome="solved", note="已来水", actor=world.water_handler)
    # closed as a duplicate without handling: it teaches nothing
    close_case(report("路灯不亮", category="0201"), reason="重复件", actor=world.dispatcher)
    # still open: not yet a fact
    report("停电了", category="0402")
    pairs = deployment_examples()
    history = [(text, code) for (code, _unit), texts in MESSAGES.items() for text in texts]
    assert pairs == [("路灯不亮了晚上很黑", "0401"), *history]


def test_misroute_rates_count_returns_and_re_dispatches_of_model_dispatches(world, report):
    start = timezone.now() - timedelta(minutes=1)
    trained(world, report)
    robot = system_user("r")
    light_1 = auto_dispatch(report("路灯不亮了晚上很黑"), actor=robot)
    auto_dispatch(report("路灯坏了好几盏"), actor=robot)
    auto_dispatch(report("家里停水两天了没有水"), actor=robot)
    light_1 = return_case(light_1, reason="是停水", actor=world.urban_handler)
    dispatch_by_dispatcher(light_1, actor=world.dispatcher, unit=world.unit("water"))
    # dispatched by hand, not by the model: not counted
    by_hand = report("路灯不亮")
    dispatch_by_dispatcher(by_hand, actor=world.dispatcher, unit=world.unit("urban"))

    rates = misroute_rates(start, timezone.now() + timedelta(minutes=1))

    assert [
        (r["key"], r["name"], r["cases"], r["misrouted"], r["rate"]) for r in rates["categories"]
    ] == [("0201", "路灯损坏", 2, 1, 0.5), ("0401", "停水", 1, 0, 0.0)]
    assert [(r["key"], r["cases"], r["misrouted"], r["rate"]) for r in rates["units"]] == [
        (world.unit("urban").pk, 2, 1, 0.5),
        (world.unit("water").pk, 1, 0, 0.0),
    ]
    assert misroute_rates(start - timedelta(days=2), start) == {"categories": [], "units": []}
