"""12345 热线受理 through the Django test client: a call taken in once whatever the retries, bad
input refused field by field with nothing stored, the suggestions beside the form (place,
classifier, rules, likely repeats) and who may use the page."""

import re

from wangge.cases.models import Case, CaseEvent, CaseState, Channel
from wangge.dispatch.actions import route_pending, train_model
from wangge.dispatch.models import DispatchRecommendation

PHONE = "13812345678"
# Clear messages of three categories, enough for a small classifier.
EXAMPLES = {
    "0201": [
        "小区门口路灯不亮了",
        "路灯坏了晚上很黑",
        "街道路灯损坏一直没修",
        "广场的路灯灯泡坏了",
        "路灯杆倒了灯不亮",
        "这条路的路灯全灭了",
        "路灯白天亮晚上不亮",
        "公园路灯坏了好几盏",
    ],
    "0401": [
        "家里停水两天了",
        "小区突然停水没有通知",
        "自来水停水什么时候来水",
        "停水了做饭都没有水",
        "楼上停水水压太低",
        "整栋楼停水一整天",
        "今天又停水了没有水用",
        "停水好几个小时还没来水",
    ],
    "0501": [
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


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def _field(html: str, name: str) -> str:
    """The block of one form field: its label, control, help and errors."""
    match = re.search(rf'<div class="field[^"]*" id="field-{name}">.*?\n</div>', html, re.S)
    return _text(match.group(0)) if match else ""


def _call(**fields) -> dict:
    data = {
        "reporter_phone": PHONE,
        "reporter_name": "李秀英",
        "title": "凤城西社区第1网格路灯不亮",
        "description": "晚上一片漆黑",
        "address": "",
        "category": "0201 路灯损坏",
        "priority": "normal",
        "idempotency_key": "call-1",
    }
    return {**data, **fields}


def _suggest(client, **fields) -> dict:
    data = {"title": "", "description": "", "address": "", "category": "", **fields}
    response = client.post("/operator/suggest/", data, HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


# --- taking a call in -------------------------------------------------------------------------


def test_a_call_posted_twice_with_the_same_key_makes_one_hotline_case(world, client):
    client.force_login(world.dispatcher)
    first = client.post("/operator/", _call())
    second = client.post("/operator/", _call())

    assert (first.status_code, first["Location"]) == (302, "/operator/")
    assert (second.status_code, second["Location"]) == (302, "/operator/")
    case = Case.objects.get()
    assert (case.channel, case.idempotency_key, case.title, case.category.code) == (
        Channel.HOTLINE,
        "call-1",
        "凤城西社区第1网格路灯不亮",
        "0201",
    )
    # 定位 from the words, then the rules sent it to the category's owner.
    assert (case.cell, case.state, case.unit) == (
        world.grid_a1,
        CaseState.DISPATCHED,
        world.unit("urban"),
    )
    page = client.get("/operator/").content.decode()
    assert f'data-code="{case.tracking_code}"' in page
    assert "该来电已受理过。其查询码：" in _text(page)
    assert f'href="/cases/{case.pk}/"' in page
    assert PHONE not in page and "*******5678" in page
    # The form is blank again, with a fresh key for the next call.
    assert 'value="call-1"' not in page
    assert 'name="idempotency_key"' in page
    assert 'value="凤城西社区第1网格路灯不亮"' not in page


def test_after_a_submit_the_page_shows_the_tracking_code_once(world, client):
    client.force_login(world.dispatcher)
    client.post("/operator/", _call())
    case = Case.objects.get()

    shown = client.get("/operator/").content.decode()
    again = client.get("/operator/").content.decode()

    assert f'data-code="{case.tracking_code}"' in shown
    assert "已受理。请向来电人读出查询码：" in _text(shown)
    assert 'id="last-code"' not in again
    assert re.search(r'<input type="tel"[^>]*autofocus', again)


def test_bad_input_stores_nothing_and_names_each_field_in_chinese(world, client):
    client.force_login(world.dispatcher)
    before = (Case.objects.count(), CaseEvent.objects.count())

    response = client.post(
        "/operator/", _call(title="  ", reporter_phone="12ab", category="9999 不存在")
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert (Case.objects.count(), CaseEvent.objects.count()) == before
    assert "这个字段是必填项。" in _field(html, "title")
    assert "不是有效的电话号码。" in _field(html, "reporter_phone")
    assert "未知类别：请输入编码或名称，或从列表中选择。" in _field(html, "category")
    assert "未保存任何内容。请修改标出的字段。" in _text(html)
    assert "9999 不存在" in html  # what the operator typed stays in the form
    assert "aria-invalid" in re.search(r'<input[^>]*name="title"[^>]*>', html).group(0)
    assert "李秀英" in html


def test_bad_input_speaks_the_operators_language(world, client):
    client.force_login(world.dispatcher)
    client.post("/i18n/setlang/", {"language": "en", "next": "/operator/"})

    response = client.post("/operator/", _call(title="", category="9999"))

    html = response.content.decode()
    assert response.status_code == 400
    assert "This field is required." in _field(html, "title")
    assert "Unknown category: type its code or name, or pick from the list." in _field(
        html, "category"
    )
    assert Case.objects.count() == 0


def test_an_anonymous_call_keeps_no_name_or_phone(world, client):
    client.force_login(world.dispatcher)
    client.post("/operator/", _call(anonymous="on"))
    case = Case.objects.get()
    assert (case.anonymous, case.reporter_name, case.reporter_phone) == (True, "", "")


def test_dispatch_now_sends_a_case_the_rules_left_waiting(world, client):
    client.force_login(world.dispatcher)
    client.post(
        "/operator/",
        _call(title="凤城西社区有事反映", category="", dispatch_unit=world.unit("water").pk),
    )
    case = Case.objects.get()
    assert (case.state, case.unit, case.channel) == (
        CaseState.DISPATCHED,
        world.unit("water"),
        Channel.HOTLINE,
    )
    assert [e.kind for e in case.events.order_by("id")] == ["report", "relocate", "dispatch"]
    assert DispatchRecommendation.objects.filter(case=case, chosen_unit=world.unit("water"))


def test_dispatch_now_places_the_case_first_when_routing_waits_for_the_worker(
    world, client, settings
):
    settings.WANGGE_INTAKE_ROUTING = "worker"
    client.force_login(world.dispatcher)
    client.post(
        "/operator/",
        _call(title="凤城西社区第1网格有事反映", category="", dispatch_unit=world.unit("water").pk),
    )
    assert route_pending() == 1  # the worker comes by later and changes nothing

    case = Case.objects.get()
    assert (case.cell, case.state, case.unit, case.routing_pending) == (
        world.grid_a1,
        CaseState.DISPATCHED,
        world.unit("water"),
        False,
    )
    assert [e.kind for e in case.events.order_by("id")] == ["report", "relocate", "dispatch"]


def test_dispatch_now_leaves_a_case_the_rules_already_sent(world, client):
    client.force_login(world.dispatcher)
    client.post("/operator/", _call(dispatch_unit=world.unit("water").pk))
    case = Case.objects.get()
    assert (case.state, case.unit) == (CaseState.DISPATCHED, world.unit("urban"))
    page = _text(client.get("/operator/").content.decode())
    assert "未人工派单：智能分派已处理该诉求。" in page


def test_an_operator_who_may_not_dispatch_gets_no_dispatch_choice(world, client):
    client.force_login(world.grid_worker_a1)
    page = client.get("/operator/").content.decode()
    assert 'name="dispatch_unit"' not in page

    client.post(
        "/operator/",
        _call(title="凤城西社区有事反映", category="", dispatch_unit=world.unit("water").pk),
    )
    case = Case.objects.get()
    assert (case.state, case.unit, case.channel) == (CaseState.NEW, None, Channel.HOTLINE)


# --- suggestions while typing -----------------------------------------------------------------


def test_suggestions_locate_the_grid_the_caller_names(world, client):
    client.force_login(world.dispatcher)
    found = _suggest(client, title="凤城西社区第1网格路灯不亮")
    assert found["place"] == {
        "cell_id": world.grid_a1.pk,
        "code": world.grid_a1.code,
        "name": "凤城西社区第1网格",
        "level": "网格",
        "path": ["凤城街道", "凤城西社区", "凤城西社区第1网格"],
        "matched": "凤城西社区第1网格",
        "confidence": 1.0,
    }
    community = _suggest(client, title="路灯不亮", address="董店南社区")
    assert (community["place"]["name"], community["place"]["level"]) == ("董店南社区", "村（社区）")
    assert _suggest(client, title="路灯不亮")["place"] is None


def test_suggestions_name_the_rules_unit_for_the_chosen_category(world, client):
    client.force_login(world.dispatcher)
    owned = _suggest(client, title="路灯不亮", category="0201 路灯损坏")
    assert (owned["category"], owned["router"], owned["categories"]) == (
        "0201 路灯损坏",
        "rules-v0",
        [],
    )
    assert [(r["rule"], r["name"], r["certain"]) for r in owned["routes"]] == [
        ("category_owner", "县城市管理局", True)
    ]
    # 小事不出网格: a grid-level category goes to the on-duty grid worker of the named grid.
    grid = _suggest(client, title="凤城西社区第1网格邻居吵架", category="0301")
    assert [(r["rule"], r["name"]) for r in grid["routes"]] == [
        ("grid_worker", str(world.grid_worker_a1)),
        ("grid_worker", str(world.grid_deputy_a1)),
    ]
    unknown = _suggest(client, title="路灯不亮", category="不存在的类别")
    assert (unknown["category_unknown"], unknown["routes"]) == (True, [])


def test_suggestions_give_the_classifiers_top_three_when_a_model_is_active(world, client):
    pairs = [(text, code) for code, texts in EXAMPLES.items() for text in texts]
    model = train_model(pairs, actor=world.admin)
    client.force_login(world.dispatcher)

    found = _suggest(client, title="路灯不亮了晚上很黑")

    assert found["router"] == model.version
    top = found["categories"]
    assert (top[0]["label"], top[0]["unit"]) == ("0201 路灯损坏", "县城市管理局")
    assert sorted(c["code"] for c in top) == ["0201", "0401", "0501"]
    confidences = [c["confidence"] for c in top]
    assert confidences == sorted(confidences, reverse=True)
    html = client.post("/operator/suggest/", {"title": "路灯不亮了晚上很黑"}).content.decode()
    assert 'data-pick="1" data-category="0201 路灯损坏" aria-keyshortcuts="Alt+1"' in html


def test_suggestions_list_likely_repeats_with_links(world, report, client):
    earlier = report("凤城西社区第1网格路灯不亮，晚上一片漆黑", category="0201")
    client.force_login(world.dispatcher)

    found = _suggest(client, title="凤城西社区第1网格路灯不亮", description="晚上一片漆黑")

    assert [(r["tracking_code"], r["url"]) for r in found["repeats"]] == [
        (earlier.tracking_code, f"/cases/{earlier.pk}/")
    ]
    html = client.post(
        "/operator/suggest/",
        {"title": "凤城西社区第1网格路灯不亮", "description": "晚上一片漆黑"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert f'<a href="/cases/{earlier.pk}/"' in html
    assert earlier.tracking_code in html
    assert Case.objects.count() == 1  # suggesting stores nothing


# --- who may use the page ---------------------------------------------------------------------


def test_a_leader_without_report_permission_gets_403(world, client):
    client.force_login(world.leader)
    assert client.get("/operator/").status_code == 403
    assert client.post("/operator/", _call()).status_code == 403
    assert client.post("/operator/suggest/", {"title": "路灯"}).status_code == 403
    assert Case.objects.count() == 0


def test_a_visitor_is_sent_to_log_in(world, client):
    response = client.get("/operator/")
    assert (response.status_code, response["Location"]) == (302, "/login/?next=/operator/")
