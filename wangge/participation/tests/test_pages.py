"""Public pages (the community landing page, the wish wall, services) open without a login and
never show a phone or ID number, even one a resident typed into the wish; staff pages manage the
lists, confirm a suggested match and move orders and wishes."""

import re

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from wangge.participation import actions
from wangge.participation.models import ItemState, ListItem, MicroWish, OrderState, WishState

PHONE, OTHER_PHONE, ID_NUMBER = "13812345678", "13698765432", "411422198001011234"
# A real 2×2 PNG: photos are decoded and re-encoded without metadata before they are stored.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000002000000020802000000fdd49a73"
    "0000001649444154789c63d4eb0e6760606062606060606000000cc10114e1cda95c0000000049454e44ae426082"
)


def _numbers(html: str) -> list[str]:
    """Mobile phone and ID numbers in a page (community codes have 12 digits: neither). Hidden
    inputs (the CSRF token, the form's random one-time key) are left out: a random hex key can
    hold eleven digits in a row."""
    shown = re.sub(r"<input[^>]*type=\"hidden\"[^>]*>", "", html)
    return re.findall(r"(?<!\d)(?:1[3-9]\d{9}|\d{17}[\dXx])(?!\d)", shown)


def test_the_community_home_lists_townships_and_links_the_installed_public_pages(world):
    community = world.grid_a1.parent
    client = Client()

    choose = client.get("/community/")
    page = client.get(f"/community/?community={community.code}")

    assert choose.status_code == 200
    html = choose.content.decode()
    assert f'<optgroup label="{world.townships[0].name}">' in html
    assert f'<option value="{community.code}">{community.name}</option>' in html
    assert page.status_code == 200
    linked = re.findall(r'data-page="(\w+)"><a href="([^"]+)"', page.content.decode())
    assert ("wishes_wall", f"/wishes/{community.code}/") in linked
    assert ("services_public", f"/community/{community.code}/services/") in linked
    assert all(url.rstrip("/").endswith(community.code) or "/services" in url for _, url in linked)


def test_the_wish_wall_shows_masked_names_and_no_phone_or_id_number(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    community = world.grid_a1.parent
    open_wish, _ = actions.post_wish(
        community,
        title="想要一台收音机",
        text=f"有事请打{OTHER_PHONE}，身份证{ID_NUMBER}",
        wisher_name="王秀英",
        wisher_phone=PHONE,
        photo=SimpleUploadedFile("radio.png", PNG, "image/png"),
        actor=world.secretary_a,
    )
    claimed, _ = actions.post_wish(
        community, title="想要老花镜", wisher_name="刘建国", wisher_phone=PHONE,
        actor=world.secretary_a,
    )  # fmt: skip
    actions.claim_wish(
        claimed, claimant_kind="party_member", claimant_name="李明华", actor=world.secretary_a
    )
    pending, _ = actions.post_wish(
        community, title="不该出现的心愿", wisher_name="张三", wisher_phone=PHONE, actor=None
    )

    r = Client().get(reverse("wishes_wall", args=[community.code]))
    photo = Client().get(reverse("wishes_photo", args=[open_wish.pk, "wish"]))

    assert r.status_code == 200
    html = r.content.decode()
    assert "想要一台收音机" in html and "想要老花镜" in html
    assert "不该出现的心愿" not in html  # awaiting review
    assert "王**" in html and "刘**" in html and "李**" in html
    assert "王秀英" not in html and "李明华" not in html
    assert _numbers(html) == []  # no phone, no ID number: not the stored one, not a typed one
    assert "*******5432" in html and "4114**************" in html  # typed ones, masked
    assert "*******5678" not in html  # the wisher's phone is not shown even masked
    assert (photo.status_code, photo["Content-Type"]) == (200, "image/png")
    assert Client().get(reverse("wishes_photo", args=[pending.pk, "wish"])).status_code == 404


def test_a_resident_posts_a_wish_through_the_public_form_once(world):
    community = world.grid_a1.parent
    form = {
        "title": "想学用智能手机",
        "text": "",
        "wisher_name": "孙桂芝",
        "wisher_phone": PHONE,
        "key": "3f2a",
    }
    client = Client()

    first = client.post(reverse("wishes_wall", args=[community.code]), form)
    retry = client.post(reverse("wishes_wall", args=[community.code]), form)
    no_phone = client.post(
        reverse("wishes_wall", args=[community.code]), {**form, "wisher_phone": "", "key": "x"}
    )

    assert (first.status_code, retry.status_code, no_phone.status_code) == (302, 302, 400)
    wish = MicroWish.objects.get()
    assert (wish.title, wish.state, wish.wisher_phone, wish.posted_by) == (
        "想学用智能手机",
        WishState.PENDING,
        PHONE,
        None,
    )
    assert PHONE not in client.get(reverse("wishes_wall", args=[community.code])).content.decode()


def test_public_services_name_merchants_and_mask_volunteers(world):
    community = world.grid_a1.parent
    for kind, name, title in (("partner", "惠民理发店", "理发"), ("volunteer", "陈志强", "修车")):
        actions.add_item(
            kind="service", community=community, title=title, description=f"电话{PHONE}",
            provider_kind=kind, provider_name=name, actor=world.secretary_a,
        )  # fmt: skip

    html = Client().get(reverse("services_public", args=[community.code])).content.decode()

    assert "惠民理发店" in html and "陈**" in html and "陈志强" not in html
    assert "*******5678" in html  # typed into the description: masked
    assert _numbers(html) == []


def test_staff_add_a_need_confirm_the_suggested_match_and_run_an_order(world):
    community = world.grid_a1.parent
    client = Client()
    client.force_login(world.secretary_a)
    service = actions.add_item(
        kind="service", community=community, title="上门理发", tags=["助老"],
        provider_kind="volunteer", provider_name="志愿者", actor=world.secretary_a,
    )  # fmt: skip

    home = client.get(reverse("participation_home"))
    added = client.post(
        reverse("participation_add_item"),
        {"community": community.code, "kind": "need", "title": "老人需要理发", "tags": "助老"},
    )
    need = ListItem.objects.get(kind="need")
    detail = client.get(reverse("participation_item", args=[need.pk]))
    client.post(reverse("participation_match", args=[need.pk]), {"offer": service.pk})
    client.post(
        reverse("participation_place_order", args=[service.pk]),
        {"orderer_kind": "resident", "orderer_name": "李奶奶", "orderer_phone": PHONE, "key": "k"},
    )
    order = service.orders.get()
    for step in ("take", "done", "confirm"):
        client.post(reverse("participation_order_step", args=[order.pk, step]))
    orders = client.get(reverse("participation_orders"))

    assert home.status_code == 200
    assert added.status_code == 302 and added["Location"] == f"/participation/items/{need.pk}/"
    assert f'data-offer="{service.pk}"' in detail.content.decode()
    need.refresh_from_db()
    order.refresh_from_db()
    assert need.state == ItemState.MATCHED
    assert order.state == OrderState.CONFIRMED
    assert [s.step for s in order.steps.all()] == ["ordered", "taken", "done", "confirmed"]
    assert "*******5678" in orders.content.decode() and PHONE not in orders.content.decode()


def test_staff_pages_are_refused_to_those_without_community_work(world):
    client = Client()
    client.force_login(world.dispatcher)
    assert client.get(reverse("participation_home")).status_code == 403
    assert Client().get(reverse("participation_home")).status_code == 302  # to the login
