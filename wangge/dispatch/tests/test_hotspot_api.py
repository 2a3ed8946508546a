"""未诉先办 over the API: the hot problems of a grid, and one coordinated case for one of them."""

import json

from django.test import Client

from wangge.accounts.models import ApiToken
from wangge.cases.models import Case, CaseState, Channel

SAME_PROBLEM = [
    "和谐家园小区垃圾三天没人清运，臭气熏天",
    "和谐家园垃圾没人清运，已经好几天了",
    "和谐家园小区垃圾堆满了没人清运",
]


def api(user) -> Client:
    _, raw = ApiToken.issue(user)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def _hotspot_cases(world, report):
    a1 = world.grid_a1
    sibling = next(g for g in world.grids if g.parent == a1.parent and g != a1)
    cells = [a1, a1, sibling]
    cases = [report(t, cell=c, category="0202") for t, c in zip(SAME_PROBLEM, cells, strict=True)]
    report("学校门口的红绿灯坏了", cell=a1, category="0601")
    return cases


def test_the_dispatcher_sees_the_hot_problem_with_its_cases(world, report):
    cases = _hotspot_cases(world, report)
    response = api(world.dispatcher).get("/api/v1/hotspots")
    assert response.status_code == 200, response.content
    top = response.json()[0]
    assert (sorted(top["member_ids"]), top["size"], top["category"]) == (
        sorted(c.pk for c in cases),
        3,
        "0202",
    )


def test_a_hotspot_becomes_one_coordinated_case_its_reports_follow(world, report):
    cases = _hotspot_cases(world, report)
    response = api(world.dispatcher).post(
        "/api/v1/hotspots/case",
        json.dumps({"case_ids": [c.pk for c in cases], "title": "和谐家园垃圾清运问题集中整治"}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    master = Case.objects.get(pk=body["id"])
    assert (master.channel, master.cell, master.category.code, master.state) == (
        Channel.PROACTIVE,
        world.grid_a1.parent,
        "0202",
        CaseState.NEW,
    )
    assert [(c.master_id, c.state) for c in Case.objects.filter(pk__in=body["linked"])] == [
        (master.pk, CaseState.CLOSED)
    ] * 3


def test_only_a_dispatcher_in_scope_may_raise_the_case_and_nothing_changes_otherwise(world, report):
    cases = _hotspot_cases(world, report)
    body = json.dumps({"case_ids": [c.pk for c in cases], "title": "集中整治"})
    before = Case.objects.count()
    by_handler = api(world.urban_handler).post(
        "/api/v1/hotspots/case", body, content_type="application/json"
    )
    by_other_township = api(world.grid_worker_b1).get(f"/api/v1/hotspots?grid={world.grid_a1.code}")
    one_case = api(world.dispatcher).post(
        "/api/v1/hotspots/case",
        json.dumps({"case_ids": [cases[0].pk], "title": "x"}),
        content_type="application/json",
    )
    assert (by_handler.status_code, by_other_township.status_code, one_case.status_code) == (
        404,
        404,
        400,
    )
    assert Case.objects.count() == before
    assert [c.master_id for c in Case.objects.filter(pk__in=[c.pk for c in cases])] == [None] * 3
