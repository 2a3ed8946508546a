"""A leader in a real Chromium at 200 % zoom: chooses a week, reads the report without the
page scrolling sideways, and prints it (the PDF route) without the controls."""

import re

import pytest
from playwright.sync_api import expect

from wangge.world import DEMO_PASSWORD

pytestmark = pytest.mark.browser


def test_a_leader_opens_the_weekly_report_at_200_percent_and_prints_it(
    world, report, new_page, shot
):
    report("小区路灯不亮", category="0201")
    # 1280 CSS pixels at 200 % zoom leave 640 for the page.
    page = new_page(viewport={"width": 640, "height": 900}, device_scale_factor=2)
    page.goto("/login/")
    page.fill("#id_username", "leader")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button.primary")
    page.goto("/reports/")
    shot(page, "choose")

    page.get_by_label("网格（含下级）").first.select_option(label=world.townships[0].name)
    page.get_by_role("button", name="打开可打印报表").first.click()

    expect(page).to_have_url(re.compile(r"/reports/weekly/\?cell=\d+&unit=&week=\d{4}-W\d\d"))
    expect(page.locator("h1")).to_contain_text(f"周调度 · {world.townships[0].name}")
    expect(page.locator('tr[data-figure="total"] td').first).to_have_text("1")
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width
    shot(page, "report")

    page.emulate_media(media="print")
    expect(page.locator(".report-tools")).to_be_hidden()
    expect(page.locator("header.topbar")).to_be_hidden()
    expect(page.locator("h1")).to_be_visible()
    shot(page, "print")
