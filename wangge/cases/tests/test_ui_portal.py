"""A resident on a phone, in a real Chromium: scans a grid's QR code, reports with a pin and a
photo, keeps the tracking code, follows the case and rates it once it is handled."""

import io
import re

import pytest
import segno
from playwright.sync_api import expect

from wangge.cases.actions import accept_case, dispatch_case, resolve_case
from wangge.cases.models import Case, CaseState, Channel, Outcome

pytestmark = pytest.mark.browser
PHONE_SCREEN = {"width": 360, "height": 780}


def _png() -> bytes:
    out = io.BytesIO()
    segno.make("现场照片").save(out, kind="png", scale=4)
    return out.getvalue()


def _fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_resident_reports_from_a_qr_code_then_tracks_and_rates(
    world_after_flush, world, new_page, shot, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    page = new_page(viewport=PHONE_SCREEN, is_mobile=True, has_touch=True)

    page.goto(f"/r/{world.grid_a1.code}/")
    expect(page.locator("#report-grid")).to_contain_text(world.grid_a1.name)
    expect(page.locator("#report-map")).to_have_attribute("data-ready", "true")
    assert _fits_the_screen(page)
    shot(page, "qr-report-form")

    page.get_by_label("什么问题？").fill("楼道灯坏了")
    page.get_by_label("详细描述（选填）").fill("3号楼2单元楼道灯一直不亮")
    page.locator("#report-map").click()
    expect(page.locator("#pin-status")).to_have_text("已在地图上标出位置。")
    page.get_by_label("照片（选填，最多 3 张）").set_input_files(
        files=[{"name": "现场.png", "mimeType": "image/png", "buffer": _png()}]
    )
    page.get_by_label("匿名反映：不保存我的姓名和电话").check()
    expect(page.get_by_label("您的电话（选填）")).to_be_hidden()
    shot(page, "filled-in")
    page.get_by_role("button", name="提交反映").click()

    code = page.locator("#tracking-code")
    expect(code).to_have_text(re.compile(r"^[A-Z2-9]{10}$"))
    tracking_code = code.inner_text()
    shot(page, "tracking-code")
    case = Case.objects.get(tracking_code=tracking_code)
    assert (case.channel, case.cell, case.anonymous, case.reporter_phone) == (
        Channel.QR,
        world.grid_a1,
        True,
        "",
    )
    assert case.lon is not None
    assert [(a.original_name, a.is_public) for a in case.attachments.all()] == [("现场.png", True)]

    # Staff handle it through the actions, as the console would.
    case = dispatch_case(case, assignee=world.grid_worker_a1, actor=world.dispatcher)
    case = accept_case(case, actor=world.grid_worker_a1)
    resolve_case(case, outcome=Outcome.SOLVED, note="已更换灯泡", actor=world.grid_worker_a1)

    page.get_by_role("link", name="查看办理进度").click()
    expect(page.locator("#case-state")).to_have_text("已办结")
    expect(page.locator("#case-outcome")).to_have_text("已解决")
    page.get_by_label("满意", exact=True).check()
    page.get_by_label("意见（选填）").fill("很快就修好了")
    assert _fits_the_screen(page)
    shot(page, "rating")
    page.get_by_role("button", name="提交评价").click()

    expect(page.get_by_role("status")).to_have_text("感谢您的评价。")
    expect(page.locator("#case-state")).to_have_text("已评价")
    expect(page.locator("#case-rating")).to_have_text("满意")
    expect(page.locator("ol.timeline")).to_contain_text("已评价：满意")
    expect(page.get_by_role("button", name="提交评价")).to_have_count(0)
    shot(page, "rated")
    case.refresh_from_db()
    assert (case.state, case.satisfaction) == (CaseState.RATED, "satisfied")
