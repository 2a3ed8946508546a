"""A resident without a login finds their community, opens its wish wall and sends a wish; the
wall shows the claimed wish of a neighbour with masked names and no phone number."""

import pytest
from playwright.sync_api import expect

from wangge.participation import actions
from wangge.participation.models import MicroWish, WishState

pytestmark = pytest.mark.browser
PHONE = "13812345678"


def test_a_resident_finds_the_wall_and_sends_a_wish(world, new_page, shot):
    community = world.grid_a1.parent
    wish, _ = actions.post_wish(
        community, title="想要一台收音机", wisher_name="王秀英", wisher_phone=PHONE,
        actor=world.secretary_a,
    )  # fmt: skip
    actions.claim_wish(
        wish, claimant_kind="party_member", claimant_name="李明华", actor=world.secretary_a
    )
    page = new_page(locale="en-US")

    page.goto("/community/")
    page.select_option("#community", label=community.name)
    page.get_by_role("button", name="Open").click()
    page.get_by_role("link", name="Micro-wishes").click()
    shot(page, "wall")

    card = page.locator(f'li[data-wish="{wish.pk}"]')
    expect(card).to_contain_text("Claimed by 李**")
    expect(card).to_contain_text("Wished by 王**")
    page.fill("#id_title", "想学用智能手机")
    page.fill("#id_wisher_name", "孙桂芝")
    page.fill("#id_wisher_phone", "13700001111")
    page.get_by_role("button", name="Send the wish").click()

    expect(page.locator(".messages")).to_contain_text("Your wish is sent")
    body = page.locator("body").inner_text()
    for secret in [PHONE, "13700001111", "*******5678", "王秀英", "李明华", "孙桂芝"]:
        assert secret not in body
    sent = MicroWish.objects.get(title="想学用智能手机")
    assert (sent.state, sent.wisher_phone) == (WishState.PENDING, "13700001111")
