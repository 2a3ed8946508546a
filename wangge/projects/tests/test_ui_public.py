"""A resident on a phone, in a real Chromium: reads a project's public page, follows its comment
link (what the QR code opens), comments, and sees the comment once the community approved it."""

import pytest
from playwright.sync_api import expect

from wangge.projects.actions import approve_comment, report_progress
from wangge.projects.models import CommentStatus, PublicComment
from wangge.projects.tests.factories import project

pytestmark = pytest.mark.browser
PHONE_SCREEN = {"width": 360, "height": 780}


def test_resident_reads_progress_comments_and_sees_it_after_approval(
    world_after_flush, world, new_page, shot
):
    root = project(world, "老旧小区改造")
    roads = project(world, "道路硬化", parent=root, budget="300000")
    project(world, "路灯安装", parent=root, budget="100000")
    report_progress(roads, progress=80, note="路面铺设", actor=world.secretary_a)
    page = new_page(locale="en-US", viewport=PHONE_SCREEN, is_mobile=True, has_touch=True)

    page.goto(f"/projects/p/{root.pk}/")
    expect(page.get_by_role("progressbar", name="Progress of 老旧小区改造")).to_have_attribute(
        "aria-valuenow", "60.00"
    )
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "project-public")
    page.get_by_role("link", name="Comment on this project (码上议)").click()
    page.get_by_label("Your opinion or suggestion").fill("晚上施工太吵，希望八点前收工")
    page.get_by_label("Mobile number (optional)").fill("13812345678")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_contain_text("once the community has reviewed it")

    comment = PublicComment.objects.get()
    assert comment.status == CommentStatus.PENDING
    page.goto(f"/projects/p/{root.pk}/")
    expect(page.locator("main")).not_to_contain_text("晚上施工太吵")
    approve_comment(comment, actor=world.secretary_a)
    page.reload()
    expect(page.locator("main")).to_contain_text("晚上施工太吵")
    expect(page.locator("body")).not_to_contain_text("13812345678")
    shot(page, "comment-approved")
