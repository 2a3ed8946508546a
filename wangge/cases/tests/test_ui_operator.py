"""A 12345 operator takes a call in a real Chromium with the keyboard alone: the suggestion
appears while typing, Alt+1 takes it, Ctrl+Enter submits, the tracking code is there to read
out and the form waits, empty, for the next call. Screenshots: test-artifacts/."""

import re

import pytest
from playwright.sync_api import expect

from wangge.cases.models import Case, CaseState, Channel
from wangge.cases.tests.test_operator import EXAMPLES
from wangge.dispatch.actions import train_model
from wangge.world import DEMO_PASSWORD

pytestmark = pytest.mark.browser
PHONE = "13812345678"


def test_an_operator_takes_a_call_with_the_keyboard_only(world_after_flush, new_page, world, shot):
    train_model(
        [(text, code) for code, texts in EXAMPLES.items() for text in texts], actor=world.admin
    )
    page = new_page()
    page.goto("/login/")
    page.fill("#id_username", "dispatcher")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button.primary")
    expect(page).to_have_url(re.compile(r"/queue/$"))
    page.goto("/operator/")
    keys = page.keyboard
    phone = page.locator("#id_reporter_phone")

    # The phone field has the focus; Esc throws away a false start.
    expect(phone).to_be_focused()
    keys.type("1381")
    keys.press("Escape")
    expect(phone).to_have_value("")
    expect(phone).to_be_focused()

    keys.type(PHONE)
    keys.press("Tab")
    keys.type("李秀英")
    keys.press("Tab")  # anonymous: no
    keys.press("Tab")
    expect(page.locator("#id_title")).to_be_focused()
    keys.type("凤城西社区第1网格路灯不亮了晚上很黑")

    expect(page.locator("#suggest-cell")).to_have_text("凤城西社区第1网格")
    first = page.locator('#suggestions [data-pick="1"] .pick-label')
    expect(first).to_have_text("0201 路灯损坏")
    shot(page, "suggestion")

    keys.press("Alt+1")
    expect(page.locator("#id_category")).to_have_value("0201 路灯损坏")
    expect(page.locator("#suggest-route .route-name")).to_have_text("县城市管理局")
    keys.press("Control+Enter")

    code = page.locator("#last-code")
    expect(code).to_be_visible()
    case = Case.objects.get()
    expect(code).to_have_attribute("data-code", case.tracking_code)
    assert code.inner_text().replace(" ", "").replace("\n", "") == case.tracking_code
    expect(page.locator("#last-unit")).to_have_text("县城市管理局")
    assert (case.channel, case.cell, case.state, case.reporter_phone) == (
        Channel.HOTLINE,
        world.grid_a1,
        CaseState.DISPATCHED,
        PHONE,
    )
    # Ready for the next call: focus back on the phone, every field empty.
    expect(phone).to_be_focused()
    for field in ("#id_reporter_phone", "#id_reporter_name", "#id_title", "#id_category"):
        expect(page.locator(field)).to_have_value("")
    assert PHONE not in page.locator("body").inner_text()
    shot(page, "taken-in")

    # At 200 % zoom (half the width) the page folds into one column, nothing cut off sideways.
    page.set_viewport_size({"width": 640, "height": 900})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "zoom-200")
