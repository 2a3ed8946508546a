"""The grid worker's H5 in a real Chromium at 360 × 740 with the position allowed: work done
without a signal waits on the phone and reaches the server exactly once when it returns."""

import re
import struct
import zlib

import pytest
from playwright.sync_api import expect

from wangge.cases.actions import dispatch_case
from wangge.cases.models import Case, CaseState, Channel
from wangge.world import DEMO_PASSWORD, centre_of

pytestmark = pytest.mark.browser


def _png() -> bytes:
    """A 2×2 PNG made here, so the test needs no file."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + b"\x2e\x8b\x57" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PHOTO = {"name": "photo.png", "mimeType": "image/png", "buffer": _png()}


def _phone(new_page, cell):
    lon, lat = centre_of(cell)
    return new_page(
        viewport={"width": 360, "height": 740},
        geolocation={"longitude": lon, "latitude": lat},
        permissions=["geolocation"],
    )


def _log_in(page, username: str, to: str = "/h5/"):
    page.goto(f"/login/?next={to}")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button.primary")
    expect(page).to_have_url(re.compile(f"{re.escape(to)}$"))


def _until(page, done, what: str):
    """Poll the database while the phone works (the page's own clock, not a timer of ours)."""
    for _ in range(120):
        if done():
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"never happened: {what}")


def test_resolve_without_signal_reaches_the_server_once(
    world_after_flush, world, report, new_page, shot
):
    case = dispatch_case(
        report("楼道堆放杂物", category="0302"),
        assignee=world.grid_worker_a1,
        actor=world.dispatcher,
    )
    page = _phone(new_page, world.grid_a1)
    _log_in(page, "grid_worker_a1")
    task = page.locator(f'li.task[data-case="{case.pk}"]')
    expect(task).to_contain_text("正常")
    shot(page, "my-tasks")

    task.locator("a").click()
    expect(page.locator("#case-state")).to_have_text("已派单")
    expect(page.locator("[data-gps]")).to_contain_text("位置")
    page.context.set_offline(True)
    page.get_by_label("已解决").check()
    page.fill("#resolve-note", "已清理楼道杂物")
    page.set_input_files("#resolve-photos", files=[PHOTO])
    page.locator("#act-resolve button[type=submit]").click()

    expect(page.locator("#outbox-list li")).to_contain_text("等待发送")
    expect(page.locator("#outbox-list li")).to_contain_text("办结：楼道堆放杂物")
    shot(page, "waiting-to-send")
    case.refresh_from_db()
    assert case.state == CaseState.DISPATCHED

    page.context.set_offline(False)
    _until(page, lambda: Case.objects.get(pk=case.pk).state == CaseState.RESOLVED, "resolved")
    expect(page.locator("#case-state")).to_have_text("已办结")
    expect(page.locator("#outbox")).to_be_hidden()
    shot(page, "resolved")

    # The answer to the first try was lost: the phone sends the same draft again; the server
    # refuses the moves as already made, and the phone counts them as sent.
    page.evaluate(
        """caseId => H5Outbox.enqueue({kind: "act", label: "again", caseId: caseId,
             steps: [{move: "accept", done: false},
                     {move: "resolve", done: false, body: {outcome: "solved", note: "again"}}],
             photos: [], settled: JSON.parse(document.getElementById("h5-settled").textContent)})
           .then(() => H5Outbox.flush())""",
        case.pk,
    )
    expect(page.locator("#outbox")).to_be_hidden()

    case.refresh_from_db()
    kinds = list(case.events.values_list("kind", flat=True))
    assert kinds == ["report", "dispatch", "accept", "resolve"]
    assert (case.outcome, case.resolution_note) == ("solved", "已清理楼道杂物")
    # Where the worker stood, on the resolve event (the phone's GPS).
    assert case.events.get(kind="resolve").data["position"] == pytest.approx(
        list(centre_of(world.grid_a1))
    )
    assert [a.original_name for a in case.attachments.all()] == ["photo.png"]


def test_patrol_report_sent_offline_arrives_once_when_the_signal_returns(
    world_after_flush, world, new_page, shot
):
    page = _phone(new_page, world.grid_a1)
    _log_in(page, "grid_worker_a1", "/h5/report/")
    # The service worker keeps the page: it opens again without a signal.
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    page.wait_for_function("caches.match('/h5/report/').then(hit => !!hit)")
    page.context.set_offline(True)
    page.reload()
    expect(page.locator("#net")).to_contain_text("离线")
    expect(page.locator("[data-gps]")).to_contain_text("位置")

    page.set_input_files("#patrol-photo", files=[PHOTO])
    page.get_by_label("楼道杂物").check()
    shot(page, "patrol-form")
    page.get_by_role("button", name="3. 发送").click()
    expect(page.locator("#outbox-list li")).to_contain_text("等待发送")
    shot(page, "patrol-waiting")
    assert not Case.objects.filter(channel=Channel.PATROL).exists()

    page.context.set_offline(False)
    _until(
        page,
        lambda: Case.objects.filter(channel=Channel.PATROL, attachments__isnull=False).exists(),
        "patrol case with its photo",
    )
    expect(page.locator("#outbox")).to_be_hidden()
    case = Case.objects.get(channel=Channel.PATROL)
    expect(page.locator("#patrol-status")).to_contain_text(case.tracking_code)
    shot(page, "patrol-sent")
    assert (case.title, case.category.code) == ("楼道杂物", "0302")
    assert case.cell.is_within(world.grid_a1)
    assert case.reporter_user is None and case.events.first().actor == world.grid_worker_a1
    assert case.attachments.count() == 1
