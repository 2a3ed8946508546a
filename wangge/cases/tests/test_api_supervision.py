"""反馈, 批办, 协办 and 督办 over the API: each endpoint's result on the case and its timeline,
the refusals (wrong role 403, out of scope 404, answered twice 409, empty text 400) that change
nothing, the list of open orders with the overdue ones first, and the tracking page."""

import json
import re
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from wangge.accounts.actions import grant_role
from wangge.accounts.models import ApiToken, Role, User
from wangge.cases.actions import (
    dispatch_case,
    instruct_case,
    supervise_case,
    supervise_unit,
)
from wangge.cases.models import (
    CaseTask,
    LeaderInstruction,
    Notification,
    SupervisionOrder,
)


def api(user) -> Client:
    _, raw = ApiToken.issue(user, "test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def post(client, path, body=None):
    return client.post(f"/api/v1{path}", json.dumps(body or {}), content_type="application/json")


def timeline(case) -> list[tuple[str, str, str, str]]:
    return [(e.kind, e.audience, e.actor_name, e.reason) for e in case.events.all()]


def dispatched(world, report, title="小区路灯不亮", now=None):
    case = report(title, category="0201", now=now)
    return dispatch_case(case, unit=world.unit("urban"), actor=world.dispatcher, now=now)


def in_days(days: float):
    return timezone.now() + timedelta(days=days)


# --- 反馈 -------------------------------------------------------------------------------------


def test_a_handler_replies_and_the_tracking_page_shows_the_reply_but_no_internal_text(
    world, report
):
    case = dispatched(world, report)
    supervise_case(
        case, level="command_centre", demand="督办要求三日内修复", due_at=in_days(3),
        actor=world.supervisor,
    )  # fmt: skip
    instruct_case(case, text="领导批示请尽快处理", actor=world.leader)

    r = post(
        api(world.urban_handler), f"/cases/{case.pk}/reply", {"text": "已安排维修，周五前修复"}
    )

    assert r.status_code == 200, r.content
    assert [(e["kind"], e["audience"], e["reason"]) for e in r.json()["events"]][-1] == (
        "reply",
        "public",
        "已安排维修，周五前修复",
    )
    client = Client()
    client.cookies["django_language"] = "en"
    html = client.get(f"/track/{case.tracking_code}/").content.decode()
    assert re.findall(r"</time>\s*(.*?)</li>", html) == [
        "Your request was received",
        "Dispatched to 县城市管理局",
        "The command centre is supervising this case",
        "Reply: 已安排维修，周五前修复",
    ]
    for internal in ["督办要求", "领导批示", world.urban_handler.display_name]:
        assert internal not in html


def test_a_dispatcher_may_reply_too(world, report):
    case = report("噪音扰民")
    r = post(api(world.dispatcher), f"/cases/{case.pk}/reply", {"text": "已受理，正在派单"})
    assert r.status_code == 200, r.content
    assert timeline(case)[-1] == ("reply", "public", str(world.dispatcher), "已受理，正在派单")


def test_a_reply_is_refused_empty_by_a_leader_or_out_of_scope_and_nothing_is_written(world, report):
    case = dispatched(world, report)
    before = timeline(case)
    empty = post(api(world.urban_handler), f"/cases/{case.pk}/reply", {"text": "  "})
    leader = post(api(world.leader), f"/cases/{case.pk}/reply", {"text": "我来回复"})
    elsewhere = post(api(world.grid_worker_b1), f"/cases/{case.pk}/reply", {"text": "别处"})
    assert (empty.status_code, empty.json()["fields"].keys()) == (400, {"text"})
    assert (leader.status_code, leader.json()["code"]) == (403, "forbidden")
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (404, "not_found")
    assert timeline(case) == before


# --- 批办 -------------------------------------------------------------------------------------


def test_a_leader_instructs_and_the_handling_unit_records_the_result_once(world, report):
    case = dispatched(world, report)
    leader, handler = api(world.leader), api(world.urban_handler)

    r = post(leader, f"/cases/{case.pk}/instruct", {"text": "请城管局本周内解决"})

    assert r.status_code == 200, r.content
    item = LeaderInstruction.objects.get(case=case)
    given = [
        (i["id"], i["leader"]["name"], i["text"], i["result"]) for i in r.json()["instructions"]
    ]
    assert given == [(item.pk, str(world.leader), "请城管局本周内解决", "")]
    url = f"/cases/{case.pk}/instructions/{item.pk}/result"
    done = post(handler, url, {"result": "已更换灯泡，恢复照明"})
    assert done.status_code == 200, done.content
    assert [(i["result"], i["result_at"] is not None) for i in done.json()["instructions"]] == [
        ("已更换灯泡，恢复照明", True)
    ]
    again = post(handler, url, {"result": "再记一次"})
    assert (again.status_code, again.json()["code"]) == (409, "conflict")
    item.refresh_from_db()
    assert item.result == "已更换灯泡，恢复照明"
    assert timeline(case)[2:] == [
        ("instruct", "internal", str(world.leader), "请城管局本周内解决"),
        ("instruction_result", "internal", str(world.urban_handler), "已更换灯泡，恢复照明"),
    ]
    assert [n.kind for n in Notification.objects.filter(case=case)][-1] == "instruction"


def test_instructions_are_refused_by_role_scope_and_empty_text_and_nothing_changes(world, report):
    case = dispatched(world, report)
    other = dispatched(world, report, "另一件事")
    item = instruct_case(case, text="请尽快处理", actor=world.leader)
    before = timeline(case)
    result_url = f"/cases/{case.pk}/instructions/{item.pk}/result"
    refusals = [
        (world.dispatcher, f"/cases/{case.pk}/instruct", {"text": "派单员批示"}, 403),
        (world.urban_handler, f"/cases/{case.pk}/instruct", {"text": "承办人批示"}, 403),
        (world.leader, f"/cases/{case.pk}/instruct", {"text": ""}, 400),
        (world.leader, result_url, {"result": "领导代记结果"}, 403),
        (world.urban_handler, result_url, {"result": " "}, 400),
        (world.grid_worker_b1, result_url, {"result": "别处网格"}, 404),
        (world.urban_handler, f"/cases/{other.pk}/instructions/{item.pk}/result", {}, 404),
    ]
    for user, path, body, status in refusals:
        assert (path, post(api(user), path, body).status_code) == (path, status)
    assert timeline(case) == before
    item.refresh_from_db()
    assert (item.result, item.result_at) == ("", None)
    assert LeaderInstruction.objects.filter(case__in=[case, other]).count() == 1


# --- 协办 done ---------------------------------------------------------------------------------


def test_a_helping_unit_finishes_its_task_once_and_the_lead_unit_cannot_finish_it(world, report):
    case = report("积水严重", category="0201")
    dispatch_case(
        case, unit=world.unit("urban"), helpers=[world.unit("water")], actor=world.dispatcher
    )
    water = api(world.water_handler)
    before = timeline(case)
    empty = post(water, f"/cases/{case.pk}/tasks/finish", {"note": ""})
    lead = post(api(world.urban_handler), f"/cases/{case.pk}/tasks/finish", {"note": "我来"})
    elsewhere = post(api(world.grid_worker_b1), f"/cases/{case.pk}/tasks/finish", {"note": "x"})
    assert [empty.status_code, lead.status_code, elsewhere.status_code] == [400, 403, 404]
    assert timeline(case) == before

    r = post(water, f"/cases/{case.pk}/tasks/finish", {"note": "已关闭阀门，排水完毕"})

    assert r.status_code == 200, r.content
    assert [
        (t["unit"]["code"], t["role"], t["done_at"] is not None) for t in r.json()["tasks"]
    ] == [
        ("urban", "lead", False),
        ("water", "helper", True),
    ]
    assert timeline(case)[-1] == (
        "task_done", "internal", str(world.water_handler), "已关闭阀门，排水完毕",
    )  # fmt: skip
    again = post(water, f"/cases/{case.pk}/tasks/finish", {"note": "再报一次"})
    assert (again.status_code, again.json()["code"]) == (409, "conflict")
    assert CaseTask.objects.get(case=case, unit=world.unit("water")).note == "已关闭阀门，排水完毕"
    assert [e.kind for e in case.events.all()].count("task_done") == 1


# --- 督办: the list, the answer, an order on a unit --------------------------------------------


def _orders(world, report):
    """Four orders: on an urban case (one overdue, one not), on the water unit as a whole, and
    on a case in grid B1 handled by township B's office."""
    week_ago = timezone.now() - timedelta(days=7)
    late_case = dispatched(world, report, "井盖缺失", now=week_ago)
    late = supervise_case(
        late_case, level="command_centre", demand="两日内答复", due_at=week_ago + timedelta(days=2),
        actor=world.supervisor, now=week_ago,
    )  # fmt: skip
    soon_case = dispatched(world, report, "路灯闪烁")
    soon = supervise_case(
        soon_case, level="discipline", demand="说明拖延原因", due_at=in_days(3),
        actor=world.discipline,
    )  # fmt: skip
    unit_order = supervise_unit(
        world.unit("water"), level="command_centre", demand="本月超期率过高，请说明",
        due_at=in_days(5), actor=world.supervisor,
    )  # fmt: skip
    b_case = report("道路破损", cell=world.grid_b1)
    b_case = dispatch_case(b_case, unit=world.unit(world.townships[1].code), actor=world.dispatcher)
    b_order = supervise_case(
        b_case, level="command_centre", demand="尽快修复", due_at=in_days(1),
        actor=world.supervisor,
    )  # fmt: skip
    return late, soon, unit_order, b_order


def listed(user, query="") -> list[tuple[int, bool]]:
    r = api(user).get(f"/api/v1/supervisions{query}")
    assert r.status_code == 200, r.content
    return [(o["id"], o["overdue"]) for o in r.json()["items"]]


def test_each_user_lists_the_open_orders_they_answer_or_watch_overdue_first(
    world, report, django_assert_num_queries
):
    late, soon, unit_order, b_order = _orders(world, report)
    supervisor = api(world.supervisor)
    # token with its assignments, count, one page of orders with their cases, units and people
    with django_assert_num_queries(3):
        assert supervisor.get("/api/v1/supervisions").status_code == 200
    assert listed(world.urban_handler) == [(late.pk, True), (soon.pk, False)]
    assert listed(world.water_handler) == [(unit_order.pk, False)]
    assert listed(world.grid_worker_a1) == [(late.pk, True), (soon.pk, False)]
    assert listed(world.grid_worker_b1) == [(b_order.pk, False)]
    assert listed(world.supervisor) == [
        (late.pk, True),
        (b_order.pk, False),
        (soon.pk, False),
        (unit_order.pk, False),
    ]
    body = api(world.urban_handler).get("/api/v1/supervisions").json()["items"][0]
    assert {k: body[k] for k in ("case", "unit", "level", "demand", "state")} == {
        "case": {"id": late.case.pk, "tracking_code": late.case.tracking_code, "title": "井盖缺失"},
        "unit": {"id": world.unit("urban").pk, "code": "urban", "name": "县城市管理局"},
        "level": "command_centre",
        "demand": "两日内答复",
        "state": "open",
    }
    for user in (world.leader, world.dispatcher):
        r = api(user).get("/api/v1/supervisions")
        assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    bad = api(world.supervisor).get("/api/v1/supervisions?state=lost")
    assert (bad.status_code, bad.json()["fields"].keys()) == (400, {"state"})


def test_the_unit_answers_an_order_once_and_it_leaves_the_open_list(world, report):
    late, soon, unit_order, _ = _orders(world, report)
    handler = api(world.urban_handler)

    r = post(handler, f"/supervisions/{late.pk}/answer", {"answer": "已派人补装井盖"})

    assert r.status_code == 200, r.content
    assert (r.json()["state"], r.json()["answer"], r.json()["answered_by"]["name"]) == (
        "answered",
        "已派人补装井盖",
        str(world.urban_handler),
    )
    late.refresh_from_db()
    assert (late.state, late.answer, late.answered_by) == (
        "answered",
        "已派人补装井盖",
        world.urban_handler,
    )
    assert timeline(late.case) == [
        ("report", "public", "匿名群众（网页/H5）", ""),
        ("dispatch", "public", str(world.dispatcher), ""),
        ("supervise", "public", str(world.supervisor), "两日内答复"),
        ("supervision_answer", "internal", str(world.urban_handler), "已派人补装井盖"),
    ]
    assert late.case.events.last().data == {"order": late.pk, "late": True}
    assert listed(world.urban_handler) == [(soon.pk, False)]
    assert listed(world.urban_handler, "?state=answered") == [(late.pk, False)]
    again = post(handler, f"/supervisions/{late.pk}/answer", {"answer": "补充说明"})
    assert (again.status_code, again.json()["code"]) == (409, "conflict")
    late.refresh_from_db()
    assert late.answer == "已派人补装井盖"

    unit_answer = post(
        api(world.water_handler), f"/supervisions/{unit_order.pk}/answer", {"answer": "已整改"}
    )
    assert (unit_answer.status_code, unit_answer.json()["state"]) == (200, "answered")


def test_an_answer_is_refused_empty_by_a_watcher_or_out_of_scope_and_nothing_changes(world, report):
    _, soon, unit_order, b_order = _orders(world, report)
    before = timeline(soon.case)
    refusals = [
        (world.urban_handler, soon, "  ", 400),
        (world.dispatcher, soon, "派单员代答", 403),
        (world.supervisor, soon, "督办员自答", 403),
        (world.leader, soon, "领导代答", 403),
        (world.grid_worker_b1, soon, "别处网格", 404),
        (world.water_handler, soon, "别的单位", 404),
        (world.urban_handler, unit_order, "替自来水答", 404),
        (world.urban_handler, b_order, "别处网格", 404),
    ]
    for user, order, text, status in refusals:
        r = post(api(user), f"/supervisions/{order.pk}/answer", {"answer": text})
        assert (user.username, order.demand, r.status_code) == (user.username, order.demand, status)
    missing = post(api(world.urban_handler), "/supervisions/999999/answer", {"answer": "x"})
    assert missing.status_code == 404
    assert (
        list(SupervisionOrder.objects.order_by("id").values_list("state", "answer"))
        == [("open", "")] * 4
    )
    assert timeline(soon.case) == before


def test_a_supervisor_orders_a_unit_in_their_part_of_the_grid(world, report):
    supervisor = api(world.supervisor)
    due = in_days(5).replace(microsecond=0)
    body = {
        "level": "discipline",
        "demand": "本月超期件过多，请书面说明",
        "due_at": due.isoformat(),
    }

    r = post(supervisor, f"/units/{world.unit('water').pk}/supervise", body)

    assert r.status_code == 201, r.content
    order = SupervisionOrder.objects.get()
    assert (order.case, order.unit, order.level, order.demand, order.due_at, order.opened_by) == (
        None,
        world.unit("water"),
        "discipline",
        "本月超期件过多，请书面说明",
        due,
        world.supervisor,
    )
    assert (r.json()["id"], r.json()["case"], r.json()["overdue"]) == (order.pk, None, False)
    assert [(n.kind, n.unit, n.payload["order"]) for n in Notification.objects.all()] == [
        ("supervision", world.unit("water"), order.pk)
    ]
    assert listed(world.water_handler) == [(order.pk, False)]


def test_ordering_a_unit_is_refused_by_role_scope_and_bad_input_and_nothing_is_opened(world):
    town_b = world.townships[1]
    local = User.objects.create(username="town_b_supervisor", display_name="乙镇督办员")
    grant_role(local, Role.SUPERVISOR, actor=None, cell=town_b)
    due = in_days(5).isoformat()
    ok = {"level": "command_centre", "demand": "请说明", "due_at": due}
    water, town_b_office = world.unit("water").pk, world.unit(town_b.code).pk
    refusals = [
        (world.urban_handler, water, ok, 403, "forbidden"),
        (world.leader, water, ok, 403, "forbidden"),
        (local, water, ok, 404, "not_found"),
        (local, world.unit(world.townships[0].code).pk, ok, 404, "not_found"),
        (world.supervisor, 999999, ok, 404, "not_found"),
        (world.supervisor, water, {**ok, "demand": " "}, 400, "invalid"),
        (world.supervisor, water, {**ok, "level": "mayor"}, 400, "invalid"),
        (world.supervisor, water, {**ok, "due_at": in_days(-1).isoformat()}, 400, "invalid"),
    ]
    for user, unit_id, body, status, code in refusals:
        r = post(api(user), f"/units/{unit_id}/supervise", body)
        assert (user.username, body, r.status_code, r.json()["code"]) == (
            user.username, body, status, code,
        )  # fmt: skip
    assert (SupervisionOrder.objects.count(), Notification.objects.count()) == (0, 0)
    assert post(api(local), f"/units/{town_b_office}/supervise", ok).status_code == 201


def test_the_case_detail_lists_its_orders_and_instructions(world, report):
    late, soon, _, _ = _orders(world, report)
    item = instruct_case(soon.case, text="请纪委跟进", actor=world.leader)
    detail = api(world.urban_handler).get(f"/api/v1/cases/{soon.case.pk}").json()
    orders = [
        (o["id"], o["level"], o["demand"], o["state"], o["overdue"]) for o in detail["supervisions"]
    ]
    assert orders == [(soon.pk, "discipline", "说明拖延原因", "open", False)]
    assert detail["supervisions"][0]["case"]["id"] == soon.case.pk
    assert [(i["id"], i["text"]) for i in detail["instructions"]] == [(item.pk, "请纪委跟进")]
    other = api(world.urban_handler).get(f"/api/v1/cases/{late.case.pk}").json()
    assert ([o["overdue"] for o in other["supervisions"]], other["instructions"]) == ([True], [])
