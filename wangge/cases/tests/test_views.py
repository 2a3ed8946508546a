"""The case pages through the Django test client: the queue, a case and its actions, and the
public tracking page. Model labels are asserted in Chinese, the default language."""

import re
from datetime import timedelta

from django.utils import timezone

from wangge.accounts.actions import system_user
from wangge.cases.actions import dispatch_case, return_case
from wangge.cases.models import Case, CaseState
from wangge.dispatch.actions import auto_dispatch, route_case
from wangge.dispatch.models import DispatchRecommendation
from wangge.world import DEMO_PASSWORD

PHONE = "13812345678"


def _row(html: str, case: Case) -> str:
    """The queue row of one case, or '' when the queue does not show it."""
    match = re.search(rf'<tr class="[^"]*" data-case="{case.pk}"[^>]*>.*?</tr>', html, re.S)
    return match.group(0) if match else ""


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def _overdue(world, report, title="井盖缺失"):
    """A case dispatched a month ago: its deadline has passed."""
    month_ago = timezone.now() - timedelta(days=30)
    case = report(title, now=month_ago)
    return dispatch_case(case, unit=world.unit("urban"), actor=world.dispatcher, now=month_ago)


# --- login --------------------------------------------------------------------------------


def test_staff_pages_send_a_visitor_to_the_login_page(world, report, client):
    case = report()
    for url in ["/queue/", f"/cases/{case.pk}/"]:
        response = client.get(url)
        assert (response.status_code, response.url) == (302, f"/login/?next={url}")


def test_logging_in_with_the_demo_password_lands_on_the_queue(world, client):
    response = client.post("/login/", {"username": "dispatcher", "password": DEMO_PASSWORD})
    assert (response.status_code, response.url) == (302, "/queue/")
    assert client.get("/queue/").status_code == 200


def test_a_wrong_password_shows_the_form_again(world, client):
    response = client.post("/login/", {"username": "dispatcher", "password": "wrong"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


# --- the queue ----------------------------------------------------------------------------


def test_queue_shows_only_cases_in_the_users_grid(world, report, client):
    in_a1 = report("A1 路灯不亮")
    in_b1 = report("B1 垃圾堆放", cell=world.grid_b1)
    client.force_login(world.grid_worker_b1)
    html = client.get("/queue/").content.decode()
    assert _row(html, in_a1) == ""
    assert in_a1.tracking_code not in html
    row = _text(_row(html, in_b1))
    reported = timezone.localtime(in_b1.reported_at).strftime("%m-%d %H:%M")
    assert row == f"{in_b1.tracking_code} B1 垃圾堆放 待受理 {in_b1.cell.name} — — — {reported}"


def test_county_dispatcher_sees_a_new_case_in_the_queue(world, report, client):
    case = report()
    client.force_login(world.dispatcher)
    html = client.get("/queue/").content.decode()
    assert case.tracking_code in _row(html, case)


def test_overdue_case_row_is_red_and_says_overdue(world, report, client):
    late = _overdue(world, report)
    fresh = dispatch_case(report("路灯闪烁"), unit=world.unit("urban"), actor=world.dispatcher)
    client.force_login(world.dispatcher)
    html = client.get("/queue/").content.decode()
    late_row, fresh_row = _row(html, late), _row(html, fresh)
    assert late_row.startswith('<tr class="case-row row-red"')
    assert '<span class="chip chip-red">已超时</span>' in late_row
    assert fresh_row.startswith('<tr class="case-row row-green"')
    assert '<span class="chip chip-green">正常</span>' in fresh_row


def test_queue_filters_by_colour_and_by_state(world, report, client):
    late = _overdue(world, report)
    dispatch_case(report("路灯闪烁"), unit=world.unit("urban"), actor=world.dispatcher)
    new = report("楼道堆物")
    client.force_login(world.dispatcher)
    red = client.get("/queue/", {"colour": "red"}).context["page"]
    assert [c.tracking_code for c in red] == [late.tracking_code]
    waiting = client.get("/queue/", {"state": "new"}).context["page"]
    assert [c.tracking_code for c in waiting] == [new.tracking_code]


def test_queue_pages_by_fifty_and_its_query_count_does_not_grow(
    world, report, client, django_assert_max_num_queries
):
    for i in range(55):
        case = report(f"路灯{i}", category="0201")
        if i % 2:
            dispatch_case(case, unit=world.unit("urban"), actor=world.dispatcher)
    client.force_login(world.dispatcher)
    client.cookies["django_language"] = "en"
    # session, user, assignments, count, rows, saved views, units (twice), categories, grids
    with django_assert_max_num_queries(11):
        first = client.get("/queue/")
    second = client.get("/queue/", {"page": 2})
    assert (len(first.context["page"]), len(second.context["page"])) == (50, 5)
    assert "Page 1 of 2" in _text(first.content.decode())
    assert "Page 2 of 2" in _text(second.content.decode())


# --- a case -------------------------------------------------------------------------------


def test_case_page_shows_the_phone_masked_never_in_clear(world, report, client):
    case = report(reporter_name="李秀英", reporter_phone=PHONE)
    client.force_login(world.dispatcher)
    html = client.get(f"/cases/{case.pk}/").content.decode()
    assert "*******5678" in html
    assert PHONE not in html
    assert "李**" in html
    assert "李秀英" not in html


def test_case_page_offers_only_the_actions_the_user_may_take_now(world, report, client):
    case = report()
    client.force_login(world.dispatcher)
    buttons = client.get(f"/cases/{case.pk}/").context["buttons"]
    assert [b["name"] for b in buttons] == ["dispatch", "escalate", "close"]
    dispatch_case(case, unit=world.unit("urban"), actor=world.dispatcher)
    client.force_login(world.urban_handler)
    buttons = client.get(f"/cases/{case.pk}/").context["buttons"]
    assert [b["name"] for b in buttons] == ["accept", "return", "escalate"]
    client.force_login(world.leader)
    assert client.get(f"/cases/{case.pk}/").context["buttons"] == []


def test_dispatching_from_the_case_page_moves_the_case_and_says_so(world, report, client):
    case = report()
    client.force_login(world.dispatcher)
    response = client.post(
        f"/cases/{case.pk}/act/dispatch/",
        {"unit": world.unit("urban").pk, "version": case.version},
        follow=True,
    )
    case.refresh_from_db()
    assert (case.state, case.unit) == (CaseState.DISPATCHED, world.unit("urban"))
    assert [e.kind for e in case.events.all()] == ["report", "dispatch"]
    html = response.content.decode()
    assert '<dd class="state" id="case-state">已派单</dd>' in html
    assert '<dd id="case-unit">县城市管理局</dd>' in html


def test_an_action_the_state_does_not_allow_shows_an_error_and_changes_nothing(
    world, report, client
):
    case = dispatch_case(report(), unit=world.unit("urban"), actor=world.dispatcher)
    client.cookies["django_language"] = "en"
    client.force_login(world.dispatcher)
    response = client.post(f"/cases/{case.pk}/act/dispatch/", {"unit": world.unit("water").pk})
    assert response.status_code == 409
    assert "This action is not possible while the case is “Dispatched”." in _text(
        response.content.decode()
    )
    after = Case.objects.get(pk=case.pk)
    assert (after.state, after.unit, after.version) == (CaseState.DISPATCHED, case.unit, 2)
    assert [e.kind for e in after.events.all()] == ["report", "dispatch"]


def test_a_click_on_an_out_of_date_page_is_refused(world, report, client):
    case = report()
    seen = case.version
    dispatch_case(case, unit=world.unit("urban"), actor=world.dispatcher)
    case = Case.objects.get(pk=case.pk)
    client.cookies["django_language"] = "en"
    client.force_login(world.urban_handler)
    response = client.post(f"/cases/{case.pk}/act/accept/", {"version": seen})
    assert response.status_code == 409
    assert "Someone else acted on this case meanwhile; reload and try again." in _text(
        response.content.decode()
    )
    assert Case.objects.get(pk=case.pk).state == CaseState.DISPATCHED


def test_returning_without_a_reason_is_refused_with_a_field_error(world, report, client):
    case = dispatch_case(report(), unit=world.unit("urban"), actor=world.dispatcher)
    client.cookies["django_language"] = "en"
    client.force_login(world.urban_handler)
    response = client.post(f"/cases/{case.pk}/act/return/", {"reason": " "})
    assert response.status_code == 400
    assert response.context["buttons"][1]["form"].errors == {"reason": ["This field is required."]}
    after = Case.objects.get(pk=case.pk)
    assert (after.state, after.version) == (CaseState.DISPATCHED, 2)


def test_a_case_outside_the_users_grid_is_not_found(world, report, client):
    case = report()
    client.force_login(world.grid_worker_b1)
    assert client.get(f"/cases/{case.pk}/").status_code == 404
    assert client.post(f"/cases/{case.pk}/act/escalate/", {"reason": "x"}).status_code == 404
    assert client.get("/cases/999999/").status_code == 404
    assert Case.objects.get(pk=case.pk).version == 1


def test_a_role_without_the_permission_is_forbidden(world, report, client):
    case = report()
    client.force_login(world.leader)
    response = client.post(f"/cases/{case.pk}/act/dispatch/", {"unit": world.unit("urban").pk})
    assert response.status_code == 403
    assert client.post(f"/cases/{case.pk}/act/fly/").status_code == 404
    assert Case.objects.get(pk=case.pk).state == CaseState.NEW


# --- public tracking ----------------------------------------------------------------------


def test_tracking_page_shows_public_progress_and_nothing_personal(world, report, client):
    case = report(reporter_name="李秀英", reporter_phone=PHONE, category="0201")
    case = dispatch_case(
        case, unit=world.unit("water"), note="内部备注先派水务", actor=world.dispatcher
    )
    case = return_case(case, reason="非本单位职责内部说明", actor=world.water_handler)
    dispatch_case(case, unit=world.unit("urban"), actor=world.dispatcher)
    client.cookies["django_language"] = "en"

    html = client.get(f"/track/{case.tracking_code}/").content.decode()

    timeline = re.findall(r"</time>\s*(.*?)</li>", html)
    assert timeline == [
        "Your request was received",
        "Dispatched to 县自来水公司",
        "Dispatched to 县城市管理局",
    ]
    assert '<dd class="state" id="case-state">Dispatched</dd>' in html
    assert "路灯损坏" in html
    for secret in [PHONE, "*******5678", "李秀英", "李**", "内部备注", "非本单位职责", "王芳"]:
        assert secret not in html
    assert world.dispatcher.display_name not in html
    assert world.water_handler.display_name not in html


def test_tracking_form_leads_to_the_case_and_an_unknown_code_gets_a_friendly_404(
    world, report, client
):
    case = report()
    response = client.get("/track/", {"code": case.tracking_code.lower()})
    assert (response.status_code, response.url) == (302, f"/track/{case.tracking_code}/")
    client.cookies["django_language"] = "en"
    missing = client.get("/track/NOSUCHCODE/")
    assert missing.status_code == 404
    assert "We found no case with the tracking code NOSUCHCODE." in _text(missing.content.decode())


# --- language -----------------------------------------------------------------------------


def test_pages_are_chinese_by_default_and_english_after_the_switch(world, report, client):
    case = dispatch_case(report(), unit=world.unit("urban"), actor=world.dispatcher)
    url = f"/track/{case.tracking_code}/"
    html = client.get(url).content.decode()
    assert '<html lang="zh-hans">' in html
    assert '<dd class="state" id="case-state">已派单</dd>' in html
    response = client.post("/i18n/setlang/", {"language": "en", "next": url}, follow=True)
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert '<dd class="state" id="case-state">Dispatched</dd>' in html


def test_the_dispatcher_sees_the_suggestions_and_the_choice_is_kept_beside_them(
    world, report, client
):
    case = report("路灯不亮", category="0201")
    route_case(case)
    client.force_login(world.dispatcher)
    html = client.get(f"/cases/{case.pk}/").content.decode()
    assert '<strong>县城市管理局</strong> <span class="score">100%</span>' in html

    client.post(
        f"/cases/{case.pk}/act/dispatch/",
        {"unit": world.unit("water").pk, "version": case.version},
    )
    rec = DispatchRecommendation.objects.get(case=case)
    assert (rec.chosen_unit, rec.chosen_by) == (world.unit("water"), world.dispatcher)
    # Once dispatched, the suggestions have served.
    assert 'class="suggestions"' not in client.get(f"/cases/{case.pk}/").content.decode()


def test_a_likely_repeat_is_shown_to_the_dispatcher_with_the_earlier_case(world, report, client):
    sibling = next(
        g for g in world.grids if g.parent == world.grid_a1.parent and g != world.grid_a1
    )
    master = report("东门路灯不亮，晚上很黑", cell=world.grid_a1, category="0201")
    repeat = auto_dispatch(
        report("东门路灯不亮，晚上很黑", cell=sibling, category="0201"),
        actor=system_user("dispatch-rules"),
    )
    assert repeat.state == CaseState.NEW
    client.force_login(world.dispatcher)
    html = client.get(f"/cases/{repeat.pk}/").content.decode()
    assert f'<span class="repeat">可能与 {master.tracking_code} 重复</span>' in html
