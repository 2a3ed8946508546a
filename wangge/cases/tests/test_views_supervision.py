"""The case page's follow-ups: 反馈 to the reporter, 督办 answered by the unit, 批办 and its
result, 协办 done. Each form shows only to who may use it, and a refusal changes nothing."""

import re
from datetime import timedelta

from django.utils import timezone

from wangge.cases.actions import dispatch_case, instruct_case, supervise_case
from wangge.cases.models import CaseTask, SupervisionOrder


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def _dispatched(world, report, **kw):
    case = report("小区路灯不亮", category="0201")
    return dispatch_case(case, unit=world.unit("urban"), actor=world.dispatcher, **kw)


def _order(world, case, demand="三日内修复并答复"):
    due = timezone.now() + timedelta(days=3)
    return supervise_case(
        case, level="command_centre", demand=demand, due_at=due, actor=world.supervisor
    )


def _page(client, user, case):
    client.force_login(user)
    return client.get(f"/cases/{case.pk}/")


def test_a_unit_handler_sees_the_open_order_and_answers_it_from_the_case_page(
    world, report, client
):
    case = _dispatched(world, report)
    order = _order(world, case)
    url = f"/cases/{case.pk}/supervisions/{order.pk}/answer/"

    page = _page(client, world.urban_handler, case)

    assert [(r["order"], r["act"]["url"]) for r in page.context["supervisions"]] == [(order, url)]
    html = page.content.decode()
    assert f'<form method="post" action="{url}">' in html
    assert "三日内修复并答复" in _text(html)

    client.cookies["django_language"] = "en"
    answered = client.post(url, {"answer": "已更换灯泡"}, follow=True)

    order.refresh_from_db()
    assert (order.state, order.answer, order.answered_by) == (
        "answered",
        "已更换灯泡",
        world.urban_handler,
    )
    assert [e.kind for e in case.events.all()] == [
        "report",
        "dispatch",
        "supervise",
        "supervision_answer",
    ]
    assert [r["act"] for r in answered.context["supervisions"]] == [None]
    assert "Done: Answer the supervision." in _text(answered.content.decode())


def test_the_answer_form_is_refused_empty_by_a_watcher_or_out_of_scope(world, report, client):
    case = _dispatched(world, report)
    order = _order(world, case)
    url = f"/cases/{case.pk}/supervisions/{order.pk}/answer/"
    assert [r["act"] for r in _page(client, world.dispatcher, case).context["supervisions"]] == [
        None
    ]
    assert client.post(url, {"answer": "派单员代答"}).status_code == 403
    client.force_login(world.grid_worker_b1)
    assert client.post(url, {"answer": "别处网格"}).status_code == 404
    client.force_login(world.urban_handler)
    client.cookies["django_language"] = "en"
    empty = client.post(url, {"answer": " "})
    assert empty.status_code == 400
    assert empty.context["supervisions"][0]["act"]["form"].errors == {
        "answer": ["This field is required."]
    }
    assert list(SupervisionOrder.objects.values_list("state", "answer")) == [("open", "")]
    assert [e.kind for e in case.events.all()] == ["report", "dispatch", "supervise"]


def test_each_role_is_offered_only_its_follow_ups(world, report, client):
    case = report("积水严重", category="0201")
    dispatch_case(
        case, unit=world.unit("urban"), helpers=[world.unit("water")], actor=world.dispatcher
    )
    offered = {
        user.username: [b["name"] for b in _page(client, user, case).context["follow_ups"]]
        for user in (world.dispatcher, world.urban_handler, world.water_handler, world.leader)
    }
    assert offered == {
        "dispatcher": ["reply"],
        "urban_handler": ["reply"],
        "water_handler": ["reply", "finish_task"],
        "leader": ["instruct"],
    }


def test_a_reply_from_the_case_page_reaches_the_tracking_page(world, report, client):
    case = _dispatched(world, report)
    client.force_login(world.urban_handler)
    response = client.post(f"/cases/{case.pk}/act/reply/", {"text": "已派人维修，请留意"})
    assert (response.status_code, response.url) == (302, f"/cases/{case.pk}/")
    client.logout()
    client.cookies["django_language"] = "en"
    html = client.get(f"/track/{case.tracking_code}/").content.decode()
    assert re.findall(r"</time>\s*(.*?)</li>", html)[-1] == "Reply: 已派人维修，请留意"


def test_a_leader_instructs_and_the_handler_records_the_result_from_the_page(world, report, client):
    case = _dispatched(world, report)
    client.force_login(world.leader)
    client.post(f"/cases/{case.pk}/act/instruct/", {"text": "请本周内解决"})
    item = case.instructions.get()
    assert (item.text, item.leader) == ("请本周内解决", world.leader)
    assert [r["act"] for r in _page(client, world.leader, case).context["instructions"]] == [None]
    assert client.post(
        f"/cases/{case.pk}/instructions/{item.pk}/result/", {"result": "领导代记"}
    ).status_code == 403  # fmt: skip

    rows = _page(client, world.urban_handler, case).context["instructions"]
    url = f"/cases/{case.pk}/instructions/{item.pk}/result/"
    assert [r["act"]["url"] for r in rows] == [url]
    client.post(url, {"result": "已更换灯泡"})

    item.refresh_from_db()
    assert (item.result, item.result_at is not None) == ("已更换灯泡", True)
    assert [e.kind for e in case.events.all()] == [
        "report",
        "dispatch",
        "instruct",
        "instruction_result",
    ]
    again = client.post(url, {"result": "再记一次"})
    assert again.status_code == 409
    item.refresh_from_db()
    assert item.result == "已更换灯泡"


def test_a_helping_unit_reports_its_part_done_and_the_lead_unit_cannot(world, report, client):
    case = report("积水严重", category="0201")
    dispatch_case(
        case, unit=world.unit("urban"), helpers=[world.unit("water")], actor=world.dispatcher
    )
    client.force_login(world.urban_handler)
    refused = client.post(f"/cases/{case.pk}/act/finish_task/", {"note": "城管代报"})
    assert refused.status_code == 403
    assert CaseTask.objects.get(case=case, unit=world.unit("water")).done_at is None

    client.force_login(world.water_handler)
    client.post(f"/cases/{case.pk}/act/finish_task/", {"note": "已关闭阀门"})

    task = CaseTask.objects.get(case=case, unit=world.unit("water"))
    assert (task.note, task.done_at is not None) == ("已关闭阀门", True)
    assert [e.kind for e in case.events.all()] == ["report", "dispatch", "joint", "task_done"]
    follow_ups = _page(client, world.water_handler, case).context["follow_ups"]
    assert [b["name"] for b in follow_ups] == ["reply"]


def test_a_case_page_with_an_instruction_is_open_only_to_staff_in_scope(world, report, client):
    case = _dispatched(world, report)
    instruct_case(case, text="请尽快处理", actor=world.leader)
    assert _page(client, world.grid_worker_b1, case).status_code == 404
    assert client.post(f"/cases/{case.pk}/act/instruct/", {"text": "x"}).status_code == 404
    assert case.instructions.count() == 1
