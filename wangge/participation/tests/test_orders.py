"""点单 → 接单 → 完成 → 确认: each step once, with who and when; a retried 点单 with the same
Idempotency-Key is one order; a second provider cannot take a taken order."""

import json

from django.test import Client

from wangge.accounts.models import ApiToken
from wangge.audit.models import AuditEntry
from wangge.participation import actions
from wangge.participation.models import OrderState, ServiceOrder


def _client(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {ApiToken.issue(user)[1]}")


def _post(client, url, body=None, **headers):
    return client.post(url, json.dumps(body or {}), content_type="application/json", **headers)


def test_an_order_goes_ordered_taken_done_confirmed_once_even_when_each_call_is_retried(world):
    service = actions.add_item(
        kind="service",
        community=world.grid_a1.parent,
        title="家电维修",
        provider_kind="partner",
        provider_name="惠民家电",
        provider_user=world.resident,  # the partner's own login
        actor=world.secretary_a,
    )
    staff, partner = _client(world.secretary_a), _client(world.resident)
    body = {
        "service_id": service.pk,
        "orderer_kind": "resident",
        "orderer_name": "李桂兰",
        "orderer_phone": "13812345678",
        "note": "冰箱不制冷",
    }

    first = _post(staff, "/api/v1/participation/orders", body, HTTP_IDEMPOTENCY_KEY="order-1")
    retry = _post(staff, "/api/v1/participation/orders", body, HTTP_IDEMPOTENCY_KEY="order-1")
    order_id = first.json()["id"]
    answers = [
        _post(partner, f"/api/v1/participation/orders/{order_id}/take"),
        _post(partner, f"/api/v1/participation/orders/{order_id}/take"),
        _post(partner, f"/api/v1/participation/orders/{order_id}/done", {"note": "已修好"}),
        _post(partner, f"/api/v1/participation/orders/{order_id}/done", {"note": "已修好"}),
        _post(staff, f"/api/v1/participation/orders/{order_id}/confirm"),
        _post(staff, f"/api/v1/participation/orders/{order_id}/confirm"),
    ]

    assert (first.status_code, retry.status_code, retry.json()["id"]) == (201, 200, order_id)
    assert first.json()["orderer_phone"] == "*******5678"
    assert [a.status_code for a in answers] == [200] * 6
    order = ServiceOrder.objects.get()
    assert (order.state, order.taken_by) == (OrderState.CONFIRMED, world.resident)
    assert order.orderer_phone == "13812345678"  # kept, encrypted at rest
    assert [(s.step, s.actor) for s in order.steps.all()] == [
        ("ordered", world.secretary_a),
        ("taken", world.resident),
        ("done", world.resident),
        ("confirmed", world.secretary_a),
    ]
    assert answers[-1].json()["steps"][2]["note"] == "已修好"
    assert list(
        AuditEntry.objects.filter(object_type="ServiceOrder")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == ["place_order", "order_take", "order_done", "order_confirm"]


def test_someone_else_cannot_take_an_order_that_is_taken(world):
    service = actions.add_item(
        kind="service",
        community=world.grid_a1.parent,
        title="助餐送餐",
        provider_kind="unit",
        provider_unit=world.unit(world.townships[0].code),
        actor=world.secretary_a,
    )
    order, _ = actions.place_order(
        service, orderer_kind="community", actor=world.secretary_a, note="重阳节助餐"
    )
    township_handler = _client(world.township_handler_a)
    took = _post(township_handler, f"/api/v1/participation/orders/{order.pk}/take")

    second = _post(_client(world.grid_worker_a1), f"/api/v1/participation/orders/{order.pk}/take")
    stranger = _post(_client(world.urban_handler), f"/api/v1/participation/orders/{order.pk}/take")

    assert took.status_code == 200
    assert (second.status_code, second.json()["code"]) == (409, "conflict")
    assert world.township_handler_a.display_name in second.json()["message"]
    assert stranger.status_code == 404
    order.refresh_from_db()
    assert (order.state, order.taken_by) == (OrderState.TAKEN, world.township_handler_a)
    assert [s.step for s in order.steps.all()] == ["ordered", "taken"]
