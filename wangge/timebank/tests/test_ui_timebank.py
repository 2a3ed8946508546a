"""What a community secretary sees in a real Chromium: enrol a member, create a volunteer task
with that member, confirm it, and read the member's hours on the list; the tabs still work on a
tablet at 200 % zoom."""

import re

import pytest
from playwright.sync_api import expect

from wangge.world import DEMO_PASSWORD

pytestmark = pytest.mark.browser


def _log_in(page, username: str):
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button.primary")
    expect(page).to_have_url(re.compile(r"/queue/$"))


def test_the_secretary_enrols_a_volunteer_and_credits_her_hours(world, new_page, shot):
    page = new_page()
    _log_in(page, "secretary_a")
    page.get_by_role("link", name="时间银行").first.click()
    page.get_by_role("link", name="会员", exact=True).click()

    page.get_by_label("姓名", exact=True).fill("周秀兰")
    page.get_by_label("电话(可选)").fill("13911112222")
    page.get_by_role("button", name="登记").click()
    row = page.locator("#member-list tr", has_text="周秀兰")
    expect(row.locator("td").nth(1)).to_have_text("*******2222")
    shot(page, "enrolled")

    page.get_by_role("link", name="志愿服务").click()
    page.get_by_label("标题", exact=True).fill("陪独居老人就医")
    page.get_by_label("每位志愿者的时长").fill("2.5")
    page.get_by_label("周秀兰").check()
    page.get_by_role("button", name="创建任务").click()
    task = page.locator("tr[data-task]", has_text="陪独居老人就医")
    expect(task).to_contain_text("周秀兰")
    shot(page, "task-created")
    task.get_by_role("button", name="确认“陪独居老人就医”已完成").click()
    expect(page.locator(".msg-success")).to_be_visible()

    page.get_by_role("link", name="会员", exact=True).click()
    expect(row.locator("td.hours")).to_have_text("2.50")
    shot(page, "hours-on-the-list")

    # a tablet at 200 % zoom: half the width in CSS pixels; the tabs wrap, nothing scrolls sideways
    page.set_viewport_size({"width": 512, "height": 700})
    expect(page.get_by_role("link", name="积分超市")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "zoomed")
