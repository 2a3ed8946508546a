"""The dispatcher's console in a real Chromium: a case reported while the queue is open turns up
without a reload, marked new; the keyboard moves through the rows, selects one and opens it; the
case goes out with one click on 智能分派's suggestion; the map shows it and links to it."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from wangge.cases.actions import dispatch_case
from wangge.dispatch.actions import route_case
from wangge.world import DEMO_PASSWORD

pytestmark = pytest.mark.browser


def _log_in(page, username: str):
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button.primary")
    expect(page).to_have_url(re.compile(r"/queue/$"))


def test_a_new_case_turns_up_live_and_goes_out_from_the_keyboard_and_a_suggestion(
    world_after_flush, world, report, new_page, shot, settings
):
    settings.WANGGE_QUEUE_POLL_SECONDS = 1
    month_ago = timezone.now() - timedelta(days=30)
    late = dispatch_case(report("井盖缺失", now=month_ago), unit=world.unit("urban"),
                         actor=world.dispatcher, now=month_ago)  # fmt: skip
    page = new_page()
    _log_in(page, "dispatcher")
    expect(page.locator("tr.case-row")).to_have_count(1)

    # Reported while the page is open (as the hotline or the H5 would), then routed.
    case = report("新来的路灯坏了", category="0201")
    route_case(case)

    row = page.locator(f'tr[data-case="{case.pk}"]')
    expect(row).to_be_visible(timeout=20_000)
    expect(row).to_have_class(re.compile(r"\bis-new\b"))
    expect(page.locator("tr.case-row")).to_have_count(2)
    shot(page, "new-case-arrived")

    # Red first; j and k move the focus, x ticks the row, / goes to the search box.
    page.locator("body").press("j")
    expect(page.locator(f'tr[data-case="{late.pk}"]')).to_be_focused()
    page.keyboard.press("j")
    expect(row).to_be_focused()
    expect(row).not_to_have_class(re.compile(r"\bis-new\b"))  # seen now
    page.keyboard.press("x")
    expect(row.locator('input[name="case"]')).to_be_checked()
    expect(page.locator("#selected-count")).to_contain_text("1")
    page.keyboard.press("x")
    expect(row.locator('input[name="case"]')).not_to_be_checked()
    page.keyboard.press("k")
    expect(page.locator(f'tr[data-case="{late.pk}"]')).to_be_focused()
    page.keyboard.press("/")
    expect(page.locator("#id_q")).to_be_focused()
    page.keyboard.press("Escape")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(row).to_be_focused()
    shot(page, "keyboard-focus")
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(rf"/cases/{case.pk}/$"))
    expect(page.locator("#case-state")).to_have_text("待受理")
    page.locator("form.one-click button").click()
    expect(page.locator("#case-state")).to_have_text("已派单")
    expect(page.locator("#case-unit")).to_have_text("县城市管理局")
    shot(page, "dispatched-by-suggestion")


def test_the_map_shows_the_grid_and_a_case_that_links_to_its_page(
    world_after_flush, world, report, new_page, shot
):
    case = report("东门井盖缺失")
    page = new_page(viewport={"width": 640, "height": 900})  # 1280 px at 200 % zoom
    _log_in(page, "township_dispatcher_a")
    # At 200 % the queue reflows: nothing sticks out to the side but the table's own scroller.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "queue-at-200-percent")

    page.goto("/console/map/")
    expect(page.locator("#console-map")).to_have_attribute("data-loaded", "1")
    expect(page.locator("#map-status")).to_contain_text("1")
    marker = page.locator("path.case-marker-new")
    expect(marker).to_have_count(1)
    shot(page, "map")
    marker.click()
    page.locator(".leaflet-popup a", has_text=case.tracking_code).click()
    expect(page).to_have_url(re.compile(rf"/cases/{case.pk}/$"))
