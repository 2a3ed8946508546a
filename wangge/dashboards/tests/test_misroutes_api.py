"""GET /api/v1/metrics/misroutes: how often 智能分派's lone dispatches came back."""

from django.test import Client

from wangge.accounts.models import ApiToken
from wangge.cases.actions import dispatch_case, return_case
from wangge.dispatch.models import ClassifierModel, DispatchRecommendation


def _get(user, path="/api/v1/metrics/misroutes"):
    _, raw = ApiToken.issue(user)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get(path)


def _sent_by_model(world, report, model, title, category, unit_key):
    unit = world.unit(unit_key)
    case = dispatch_case(report(title), unit=unit, actor=world.dispatcher)
    DispatchRecommendation.objects.create(
        case=case, router=model.version, model=model, auto=True, chosen_unit=unit,
        candidates=[{"category": category, "category_name": category, "unit": unit.pk,
                     "name": unit.name, "score": 0.99}],
    )  # fmt: skip
    return case


def test_the_leader_sees_the_share_of_lone_dispatches_that_came_back(world, report):
    model = ClassifierModel.objects.create(
        version="test-v1", n_examples=40, threshold=0.9, target_precision=0.97, blob=b"",
        is_active=True,
    )  # fmt: skip
    lamp = _sent_by_model(world, report, model, "路灯不亮", "0201", "urban")
    _sent_by_model(world, report, model, "路灯闪烁", "0201", "urban")
    _sent_by_model(world, report, model, "停水", "0401", "water")
    return_case(lamp, reason="不是路灯，是电线", actor=world.urban_handler)

    response = _get(world.leader)

    assert response.status_code == 200, response.content
    body = response.json()
    assert [(r["key"], r["cases"], r["misrouted"], r["rate"]) for r in body["categories"]] == [
        ("0201", 2, 1, 0.5),
        ("0401", 1, 0, 0.0),
    ]
    assert [(r["name"], r["rate"]) for r in body["units"]] == [
        ("县城市管理局", 0.5),
        ("县自来水公司", 0.0),
    ]


def test_only_a_county_wide_scope_sees_the_misroutes(world):
    assert _get(world.secretary_a).status_code == 404
    assert _get(world.urban_handler).status_code == 404
