"""What a person sees in a real Chromium: log in, find the new case, dispatch it, see the
overdue row turn red, and read the public tracking page without personal data."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from wangge.cases.actions import dispatch_case
from wangge.world import DEMO_PASSWORD

pytestmark = pytest.mark.browser
PHONE = "13812345678"


def _log_in(page, username: str):
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button.primary")
    expect(page).to_have_url(re.compile(r"/queue/$"))


def test_dispatcher_dispatches_a_new_case_and_the_public_page_follows(world, report, new_page):
    page = new_page()
    case = report("小区路灯不亮", reporter_name="李秀英", reporter_phone=PHONE)
    _log_in(page, "dispatcher")

    row = page.locator(f'tr[data-case="{case.pk}"]')
    expect(row.locator("td.state")).to_have_text("待受理")
    row.get_by_role("link", name=case.tracking_code).click()
    expect(page.locator("#case-state")).to_have_text("待受理")
    page.locator("#act-dispatch summary").click()
    page.select_option("#id_dispatch_unit", label="县城市管理局")
    page.locator("#act-dispatch button.primary").click()

    expect(page.locator("#case-state")).to_have_text("已派单")
    expect(page.locator("#case-unit")).to_have_text("县城市管理局")

    resident = new_page()
    resident.goto(f"/track/{case.tracking_code}/")
    expect(resident.locator("#case-state")).to_have_text("已派单")
    body = resident.locator("body").inner_text()
    assert "县城市管理局" in body
    for secret in [PHONE, "*******5678", "李秀英", world.dispatcher.display_name]:
        assert secret not in body


def test_a_case_past_its_deadline_shows_a_red_row(world, report, new_page):
    page = new_page()
    month_ago = timezone.now() - timedelta(days=30)
    late = dispatch_case(
        report("井盖缺失", now=month_ago),
        unit=world.unit("urban"),
        actor=world.dispatcher,
        now=month_ago,
    )
    fresh = dispatch_case(report("路灯闪烁"), unit=world.unit("urban"), actor=world.dispatcher)
    _log_in(page, "dispatcher")

    late_row = page.locator(f'tr[data-case="{late.pk}"]')
    expect(late_row.locator(".chip")).to_have_text("已超时")
    expect(late_row).to_have_css("background-color", "rgb(253, 232, 232)")
    expect(page.locator(f'tr[data-case="{fresh.pk}"] .chip')).to_have_text("正常")
