"""党务村务财务公开: finance items must add up; published items never change; a correction is a
new item that supersedes the old one on the board; the archive keeps both."""

from decimal import Decimal

import pytest

from wangge.deliberation import actions
from wangge.deliberation.models import DisclosureItem
from wangge.deliberation.queries import archive_periods, board_items, period_items
from wangge.lib.errors import Conflict, InvalidInput

LINES = [
    {"direction": "income", "label": "上级转移支付", "amount": "50000.00"},
    {"direction": "income", "label": "集体资产租赁", "amount": "12000.50"},
    {"direction": "expense", "label": "道路维修", "amount": "30000.00"},
    {"direction": "expense", "label": "办公经费", "amount": "2000.50"},
]


def finance(village, actor, **overrides):
    fields = {
        "kind": "finance",
        "period": "2025-Q1",
        "title": "2025年第一季度财务收支",
        "opening_balance": "10000.00",
        "total_income": "62000.50",
        "total_expense": "32000.50",
        "closing_balance": "40000.00",
        "lines": LINES,
    }
    fields.update(overrides)
    return actions.create_disclosure(village, actor=actor, **fields)


def test_a_finance_item_that_adds_up_is_drafted_with_its_lines(world, village):
    item = finance(village, world.secretary_a)
    assert (item.closing_balance, item.is_published) == (Decimal("40000.00"), False)
    assert [(ln.direction, ln.amount) for ln in item.lines.all()] == [
        ("expense", Decimal("30000.00")),
        ("expense", Decimal("2000.50")),
        ("income", Decimal("50000.00")),
        ("income", Decimal("12000.50")),
    ]


def test_lines_that_do_not_add_up_to_the_totals_are_refused_naming_the_difference(world, village):
    with pytest.raises(InvalidInput) as exc:
        finance(village, world.secretary_a, total_income="62100.50")
    assert exc.value.fields == {
        "total_income": "Income lines add up to 62000.50 but the total income is 62100.50 "
        "(difference -100.00).",
        "closing_balance": "Opening balance 10000.00 + income 62100.50 − expense 32000.50 = "
        "40100.00, but the closing balance is 40000.00 (difference -100.00).",
    }
    assert DisclosureItem.objects.count() == 0


def test_a_closing_balance_that_does_not_follow_is_refused_naming_the_difference(world, village):
    with pytest.raises(InvalidInput) as exc:
        finance(village, world.secretary_a, closing_balance="40500.00")
    assert exc.value.text() == (
        "Opening balance 10000.00 + income 62000.50 − expense 32000.50 = 40000.00, but the "
        "closing balance is 40500.00 (difference 500.00)."
    )
    assert DisclosureItem.objects.count() == 0


def test_a_draft_may_change_but_it_must_still_add_up(world, village):
    item = finance(village, world.secretary_a)
    with pytest.raises(InvalidInput) as exc:
        actions.update_disclosure(
            item,
            version=item.version,
            actor=world.secretary_a,
            kind="finance",
            period="2025-Q1",
            title="改",
            opening_balance="10000.00",
            total_income="62000.50",
            total_expense="32000.50",
            closing_balance="40000.00",
            lines=LINES[:3],
        )
    assert list(exc.value.fields) == ["total_expense"]
    item = actions.update_disclosure(
        item,
        version=item.version,
        actor=world.secretary_a,
        kind="finance",
        period="2025-Q1",
        title="2025年一季度财务",
        opening_balance="10000.00",
        total_income="62000.50",
        total_expense="30000.00",
        closing_balance="42000.50",
        lines=LINES[:3],
    )
    assert (item.title, item.version, item.lines.count()) == ("2025年一季度财务", 2, 3)


def test_a_published_item_cannot_be_edited_and_a_correction_supersedes_it(world, village):
    item = finance(village, world.secretary_a)
    item = actions.publish_disclosure(item, version=item.version, actor=world.secretary_a)
    assert (item.published_by, item.published_by_name) == (world.secretary_a, "凤城西社区书记")
    with pytest.raises(Conflict) as exc:
        actions.update_disclosure(
            item,
            version=item.version,
            actor=world.secretary_a,
            kind="finance",
            period="2025-Q1",
            title="偷偷改",
            opening_balance="0.00",
            total_income="0.00",
            total_expense="0.00",
            closing_balance="0.00",
        )
    assert exc.value.text() == "A published item cannot be changed; publish a correction instead."
    with pytest.raises(Conflict):
        actions.publish_disclosure(item, version=item.version, actor=world.secretary_a)
    stored = DisclosureItem.objects.get(pk=item.pk)
    assert (stored.title, stored.version, stored.published_at) == (
        "2025年第一季度财务收支",
        2,
        item.published_at,
    )
    assert board_items(village) == [item]

    fix = actions.correct_disclosure(
        item,
        actor=world.secretary_a,
        title="2025年第一季度财务收支（更正）",
        opening_balance="10000.00",
        total_income="62000.50",
        total_expense="32000.50",
        closing_balance="40000.00",
        lines=LINES,
    )
    assert board_items(village) == [item]  # a draft correction is not on the board yet
    with pytest.raises(Conflict):
        actions.correct_disclosure(item, actor=world.secretary_a, title="第二次更正")
    fix = actions.publish_disclosure(fix, version=fix.version, actor=world.secretary_a)
    assert board_items(village) == [fix]
    assert archive_periods(village) == [{"period": "2025-Q1", "count": 2}]
    assert {i.pk for i in period_items(village, "2025-Q1")} == {item.pk, fix.pk}


def test_the_board_shows_each_types_latest_period(world, village):
    old = actions.create_disclosure(
        village, kind="party", period="2024-12", title="发展党员公示", body="…", actor=None
    )
    new = actions.create_disclosure(
        village, kind="party", period="2025-01", title="党费收缴", body="…", actor=None
    )
    works = actions.create_disclosure(
        village, kind="village", period="2024", title="低保名单", body="…", actor=None
    )
    for item in (old, new, works):
        actions.publish_disclosure(item, version=item.version, actor=world.secretary_a)
    assert {i.title for i in board_items(village)} == {"党费收缴", "低保名单"}


@pytest.mark.parametrize("period", ["2025-13", "25-Q1", "2025-Q5", ""])
def test_a_period_must_be_a_year_half_quarter_or_month(world, village, period):
    with pytest.raises(InvalidInput) as exc:
        actions.create_disclosure(
            village, kind="village", period=period, title="x", body="y", actor=None
        )
    assert list(exc.value.fields) == ["period"]
