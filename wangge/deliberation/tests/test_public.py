"""The public pages of a village: anyone may read them; they show counts, dates, votes and the
published texts with who published them and when, and never a phone number, an ID number, the
minutes or the names of those who attended."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from wangge.deliberation import actions
from wangge.deliberation.models import STEP_ORDER
from wangge.deliberation.tests.conftest import DAY, record
from wangge.deliberation.tests.test_disclosure import finance
from wangge.lib.errors import InvalidInput

PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
ID_NUMBER = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
SECRET_MINUTES = "到会：王建国 13812345678，身份证 411422198001011234"


@pytest.fixture
def published_village(world, village):
    matter = actions.create_matter(village, title="修建村东生产路", actor=world.secretary_a)
    for kind in STEP_ORDER:
        record(
            matter,
            kind,
            world.secretary_a,
            **({} if "publish" in kind else {"minutes": SECRET_MINUTES}),
        )
    actions.record_courtyard_meeting(
        world.grid_a1,
        held_on=DAY,
        topic="楼道堆物",
        participant_count=6,
        participant_names="李秀英 13912345678",
        outcome="约定周末清理",
        actor=world.grid_worker_a1,
    )
    item = finance(village, world.secretary_a)
    actions.publish_disclosure(item, version=item.version, actor=world.secretary_a)
    return village


def _anonymous_get(url: str):
    r = Client().get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert r.status_code == 200
    return r.content.decode()


def test_the_public_deliberation_page_shows_steps_and_counts_but_no_personal_data(
    published_village,
):
    html = _anonymous_get(reverse("deliberation_public", args=[published_village.code]))
    assert "修建村东生产路" in html
    assert "publish_resolution：公示内容" in html
    assert "publish_result：公示内容" in html
    assert "凤城西社区书记" in html  # who published
    assert 'data-step="resolve"' in html
    assert "2025-03-03" in html
    assert "王建国" not in html and "会议记录" not in html
    assert PHONE.search(html) is None
    assert ID_NUMBER.search(html) is None


def test_the_disclosure_board_and_its_archive_are_public_and_add_up(published_village):
    html = _anonymous_get(reverse("disclosure_board", args=[published_village.code]))
    assert "2025年第一季度财务收支" in html
    assert "40000.00" in html and "上级转移支付" in html
    assert "2025-Q1" in html
    archive = _anonymous_get(
        reverse("disclosure_archive", args=[published_village.code, "2025-Q1"])
    )
    assert "2025年第一季度财务收支" in archive
    assert PHONE.search(html + archive) is None
    assert ID_NUMBER.search(html + archive) is None


def test_drafts_are_not_on_the_board(world, village):
    finance(village, world.secretary_a, title="草稿：二季度")
    html = _anonymous_get(reverse("disclosure_board", args=[village.code]))
    assert "草稿：二季度" not in html


def test_an_unknown_village_or_a_grid_code_is_not_found(world):
    assert Client().get(reverse("deliberation_public", args=["999999"])).status_code == 404
    grid = world.grid_a1.code
    assert Client().get(reverse("disclosure_board", args=[grid])).status_code == 404


@pytest.mark.parametrize("text", ["联系人电话13812345678", "身份证41142219800101123X"])
def test_public_texts_carrying_a_phone_or_id_number_are_refused(world, matter, text):
    for kind in STEP_ORDER[:4]:
        record(matter, kind, world.secretary_a)
    with pytest.raises(InvalidInput) as exc:
        record(matter, "publish_resolution", world.secretary_a, public_text=text)
    assert exc.value.fields == {
        "public_text": "Public text must not contain a phone number or an ID number."
    }
    assert list(matter.steps.values_list("kind", flat=True)) == STEP_ORDER[:4]
