"""需求 ↔ 资源 matching: the obviously matching offer ranks first, with a reason; a need raised
from recurring cases links them; the staff member's confirmation marks both matched."""

import json

from django.test import Client

from wangge.accounts.models import ApiToken
from wangge.participation import actions
from wangge.participation.matching import suggest_offers
from wangge.participation.models import ItemKind, ItemState, Match
from wangge.participation.queries import community_of, recurring_case_groups


def _offer(world, community, kind, title, *, description="", tags=(), provider="", **kw):
    return actions.add_item(
        kind=kind,
        community=community,
        title=title,
        description=description,
        tags=tags,
        provider_kind="partner",
        provider_name=provider or "社区合伙人",
        actor=world.secretary_a,
        **kw,
    )


def test_the_obviously_matching_resource_ranks_first_with_its_reason(world):
    community = world.grid_a1.parent
    neighbour = community.parent.children.exclude(pk=community.pk).first()
    need = actions.add_item(
        kind=ItemKind.NEED,
        community=community,
        title="独居老人需要上门理发",
        description="行动不便的老人希望每月有人上门理发",
        tags=["助老"],
        actor=world.secretary_a,
    )
    barber = _offer(
        world, community, "service", "义务上门理发", description="每月为老人理发", tags=["助老"]
    )
    _offer(world, community, "resource", "会议室借用", description="周末可借用社区会议室")
    _offer(world, community, "service", "家电维修", description="冰箱洗衣机维修")
    far_barber = _offer(world, neighbour, "service", "理发店爱心理发", tags=["助老"])

    found = suggest_offers(need)

    assert [s.offer for s in found] == [barber, far_barber]
    assert found[0].score > found[1].score
    assert "理发" in found[0].reason and "助老" in found[0].reason
    assert neighbour.name in found[1].reason


def test_confirming_a_suggestion_marks_need_and_offer_matched(world):
    community = world.grid_a1.parent
    need = actions.add_item(
        kind=ItemKind.NEED, community=community, title="楼道灯需要维修", actor=world.secretary_a
    )
    offer = _offer(world, community, "service", "水电维修志愿服务", description="楼道灯 水电维修")
    token = ApiToken.issue(world.grid_worker_a1)[1]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    listed = client.get(f"/api/v1/participation/items/{need.pk}/suggestions").json()
    r = client.post(
        f"/api/v1/participation/items/{need.pk}/matches",
        json.dumps({"offer_id": offer.pk}),
        content_type="application/json",
    )

    assert [s["offer_id"] for s in listed] == [offer.pk]
    assert r.status_code == 201
    need.refresh_from_db()
    offer.refresh_from_db()
    assert (need.state, offer.state) == (ItemState.MATCHED, ItemState.MATCHED)
    match = Match.objects.get()
    assert (match.need, match.offer, match.confirmed_by) == (need, offer, world.grid_worker_a1)
    assert match.reason == listed[0]["reason"]


def test_a_need_raised_from_recurring_cases_links_them_and_they_are_no_longer_offered(
    world, report
):
    cases = [report(f"楼道堆放杂物{i}", category="0302") for i in range(3)]
    community = world.grid_a1.parent
    token = ApiToken.issue(world.secretary_a)[1]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    groups = recurring_case_groups(community)
    assert [(g["cell_code"], g["category_name"], g["count"]) for g in groups] == [
        (cases[0].cell.code, "楼道杂物", 3)
    ]

    r = client.post(
        "/api/v1/participation/needs/from-cases",
        json.dumps({"case_ids": [c.pk for c in cases], "title": "楼道杂物清理"}),
        content_type="application/json",
    )

    assert r.status_code == 201
    body = r.json()
    assert (body["kind"], body["community"], body["category"], body["source"]) == (
        "need",
        community_of(cases[0].cell).code,
        "0302",
        "cases",
    )
    assert body["case_ids"] == sorted(c.pk for c in cases)
    assert recurring_case_groups(community) == []


def test_cases_outside_the_callers_communities_are_not_found(world, report):
    case = report("噪音扰民", cell=world.grid_b1, category="0501")
    token = ApiToken.issue(world.secretary_a)[1]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    r = client.post(
        "/api/v1/participation/needs/from-cases",
        json.dumps({"case_ids": [case.pk]}),
        content_type="application/json",
    )
    assert r.status_code == 404
    assert not case.participation_needs.exists()
