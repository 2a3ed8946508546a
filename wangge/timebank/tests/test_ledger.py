"""The ledgers' discipline: every transfer sums to zero, nothing booked is edited or deleted,
a correction is a new transfer, balances are the sum of movements, limits flag but never block,
volunteer hours are credited once on the organiser's confirmation, claims are decided once and
capped per period, and hours convert to points in both ledgers at once."""

import random
from datetime import date
from decimal import Decimal

import pytest

from wangge.audit.models import AuditEntry
from wangge.lib.errors import Conflict, InvalidInput, PermissionDenied
from wangge.timebank import actions
from wangge.timebank.models import (
    Account,
    AccountKind,
    ClaimState,
    Ledger,
    Movement,
    TaskState,
    Transfer,
    TransferKind,
)
from wangge.timebank.queries import reconcile, statement, unbalanced_transfers
from wangge.timebank.tests.conftest import give_points


def hours(member):
    return Account.objects.get(member=member, ledger=Ledger.HOURS).balance


def points(member):
    return Account.objects.get(member=member, ledger=Ledger.POINTS).balance


def test_random_transfers_always_sum_to_zero_and_balances_reconcile(bank):
    # given: members and the pool, and a seeded stream of random bookings, some of them bad
    rng = random.Random(20260801)
    pool = actions.system_account(bank.community, Ledger.HOURS, AccountKind.POOL)
    accounts = [pool] + [
        actions.account_of(m, Ledger.HOURS) for m in (bank.ana, bank.bo, bank.chen)
    ]
    booked = refused = 0
    for _ in range(60):
        legs = [
            (a, Decimal(rng.randint(-500, 500)) / 100)
            for a in rng.sample(accounts, rng.randint(1, 4))
        ]
        if rng.random() < 0.7 and len(legs) > 1:  # most bookings balance: the last leg closes
            legs[-1] = (legs[-1][0], -sum(amount for _, amount in legs[:-1]))
        try:
            actions.book(
                community=bank.community,
                ledger=Ledger.HOURS,
                kind=TransferKind.EXCHANGE,
                legs=legs,
                actor=bank.secretary,
            )
            booked += 1
        except InvalidInput:
            refused += 1
    # then: only balanced bookings of two or more non-zero legs were written
    assert booked + refused == 60
    assert Transfer.objects.count() == booked > 10
    assert list(unbalanced_transfers()) == []
    assert reconcile(bank.community) == []
    assert sum(a.balance for a in Account.objects.filter(ledger=Ledger.HOURS)) == 0


def test_a_transfer_that_does_not_balance_is_refused_and_nothing_is_written(bank):
    ana, bo = (actions.account_of(m, Ledger.HOURS) for m in (bank.ana, bank.bo))
    with pytest.raises(InvalidInput) as exc:
        actions.book(
            community=bank.community,
            ledger=Ledger.HOURS,
            kind=TransferKind.EXCHANGE,
            legs=[(ana, Decimal("-2")), (bo, Decimal("1.5"))],
            actor=bank.secretary,
        )
    assert "legs" in exc.value.fields
    assert (Transfer.objects.count(), Movement.objects.count()) == (0, 0)
    assert (hours(bank.ana), hours(bank.bo)) == (0, 0)


def test_transfers_and_movements_cannot_be_edited_or_deleted(bank):
    transfer = actions.exchange_hours(bank.ana, bank.bo, hours="2", actor=bank.secretary)
    movement = transfer.movements.first()
    transfer.memo = "改了"
    movement.amount = Decimal("99")
    for attempt in (
        transfer.save,
        transfer.delete,
        movement.save,
        movement.delete,
        lambda: Transfer.objects.filter(pk=transfer.pk).update(memo="x"),
        lambda: Movement.objects.filter(transfer=transfer).update(amount=1),
        lambda: Movement.objects.filter(transfer=transfer).delete(),
        lambda: Transfer.objects.all().delete(),
    ):
        with pytest.raises(Conflict):
            attempt()
    stored = Transfer.objects.get(pk=transfer.pk)
    assert stored.memo == ""
    assert sorted(m.amount for m in stored.movements.all()) == [Decimal("-2"), Decimal("2")]


def test_a_correction_is_a_new_transfer_that_names_the_corrected_one(bank):
    wrong = actions.exchange_hours(bank.ana, bank.bo, hours="3", actor=bank.secretary)
    fix = actions.correct_transfer(wrong, reason="记错了方向", actor=bank.secretary)
    assert (fix.kind, fix.corrects, fix.memo) == (TransferKind.CORRECTION, wrong, "记错了方向")
    assert (hours(bank.ana), hours(bank.bo)) == (0, 0)
    assert sorted(m.amount for m in wrong.movements.all()) == [Decimal("-3"), Decimal("3")]
    with pytest.raises(Conflict):
        actions.correct_transfer(wrong, reason="再来一次", actor=bank.secretary)
    assert Transfer.objects.count() == 2
    assert AuditEntry.objects.filter(action="correct_timebank_transfer").count() == 1


def test_crossing_a_limit_flags_the_account_but_the_transfer_stands(bank):
    actions.set_policy(
        bank.community, max_debt_hours="4", max_credit_hours="5", actor=bank.secretary
    )
    actions.exchange_hours(bank.ana, bank.bo, hours="6", actor=bank.secretary)
    ana = actions.account_of(bank.ana, Ledger.HOURS)
    bo = actions.account_of(bank.bo, Ledger.HOURS)
    assert (ana.balance, ana.flagged, bo.balance, bo.flagged) == (
        Decimal("-6"),
        True,
        Decimal("6"),
        True,
    )
    assert ("6.00" in ana.flag_reason, "4.00" in ana.flag_reason) == (True, True)
    assert ("6.00" in bo.flag_reason, "5.00" in bo.flag_reason) == (True, True)
    assert Transfer.objects.count() == 1
    # back within the limits, the flag goes
    actions.exchange_hours(bank.bo, bank.ana, hours="3", actor=bank.secretary)
    ana.refresh_from_db()
    bo.refresh_from_db()
    assert (ana.balance, ana.flagged, bo.balance, bo.flagged) == (
        Decimal("-3"),
        False,
        Decimal("3"),
        False,
    )


def test_a_task_credits_its_hours_only_when_the_organiser_confirms_and_once(bank, world, report):
    case = report("楼道堆满杂物", category="0302")
    task = actions.create_task(
        bank.community,
        title="清理楼道",
        hours="2.5",
        organiser=bank.secretary,
        case=case,
        volunteers=[bank.ana, bank.bo],
    )
    assert (hours(bank.ana), hours(bank.bo), Transfer.objects.count()) == (0, 0, 0)
    with pytest.raises(PermissionDenied):
        actions.confirm_task(task, actor=world.grid_worker_a1)
    assert Transfer.objects.count() == 0

    task = actions.confirm_task(task, actor=bank.secretary)

    assert (task.state, task.transfer.kind) == (TaskState.DONE, TransferKind.TASK)
    assert sorted(m.amount for m in task.transfer.movements.all()) == [
        Decimal("-5"),
        Decimal("2.5"),
        Decimal("2.5"),
    ]
    assert (hours(bank.ana), hours(bank.bo), hours(bank.chen)) == (
        Decimal("2.5"),
        Decimal("2.5"),
        0,
    )
    with pytest.raises(Conflict):
        actions.confirm_task(task, actor=bank.secretary)
    with pytest.raises(Conflict):
        actions.add_volunteer(task, bank.chen, actor=bank.secretary)
    assert (Transfer.objects.count(), hours(bank.ana)) == (1, Decimal("2.5"))


def test_points_are_capped_per_member_and_period(bank):
    # given: 10 points per claim, at most 25 a month
    def claim(day):
        return actions.claim_points(bank.ana, bank.rule, done_on=day, actor=bank.secretary)

    first, second, third = (claim(date(2025, 3, d)) for d in (3, 10, 17))
    fourth = claim(date(2025, 3, 24))
    april = claim(date(2025, 4, 1))
    # when
    for c in (first, second, third):
        actions.approve_claim(c, actor=bank.secretary)
    # then: the third gets what the cap leaves; a fourth in March gets nothing
    for c in (first, second, third):
        c.refresh_from_db()
    assert [(c.state, c.points) for c in (first, second, third)] == [
        (ClaimState.APPROVED, 10),
        (ClaimState.APPROVED, 10),
        (ClaimState.APPROVED, 5),
    ]
    with pytest.raises(Conflict) as exc:
        actions.approve_claim(fourth, actor=bank.secretary)
    assert "25" in exc.value.text()
    fourth.refresh_from_db()
    assert (fourth.state, points(bank.ana)) == (ClaimState.PENDING, Decimal("25"))
    # another month, another cap; another member, their own cap
    actions.approve_claim(april, actor=bank.secretary)
    bo_claim = actions.claim_points(bank.bo, bank.rule, done_on=date(2025, 3, 3), actor=None)
    actions.approve_claim(bo_claim, actor=bank.secretary)
    assert (points(bank.ana), points(bank.bo)) == (Decimal("35"), Decimal("10"))


def test_a_claim_is_decided_once(bank):
    claim = actions.claim_points(bank.ana, bank.rule, done_on=date(2025, 5, 2), actor=None)
    actions.approve_claim(claim, actor=bank.secretary)
    with pytest.raises(Conflict):
        actions.approve_claim(claim, actor=bank.secretary)
    with pytest.raises(Conflict):
        actions.reject_claim(claim, actor=bank.secretary, reason="重复")
    claim.refresh_from_db()
    assert (claim.state, claim.points, points(bank.ana)) == (ClaimState.APPROVED, 10, 10)
    assert Transfer.objects.filter(kind=TransferKind.CLAIM).count() == 1

    rejected = actions.claim_points(bank.bo, bank.rule, done_on=date(2025, 5, 2), actor=None)
    actions.reject_claim(rejected, actor=bank.secretary, reason="没有照片")
    with pytest.raises(Conflict):
        actions.approve_claim(rejected, actor=bank.secretary)
    rejected.refresh_from_db()
    assert (rejected.state, rejected.reason, points(bank.bo)) == (
        ClaimState.REJECTED,
        "没有照片",
        0,
    )


def test_hours_convert_to_points_in_both_ledgers_at_once(bank):
    task = actions.create_task(
        bank.community,
        title="陪老人就医",
        hours="3",
        organiser=bank.secretary,
        volunteers=[bank.ana],
    )
    actions.confirm_task(task, actor=bank.secretary)
    with pytest.raises(Conflict):  # no rate yet
        actions.convert_hours(bank.ana, hours="1", actor=bank.secretary)
    actions.set_policy(bank.community, points_per_hour=10, actor=bank.secretary)

    out, into = actions.convert_hours(bank.ana, hours="2", actor=bank.secretary)

    assert (out.ledger, into.ledger, into.pair) == (Ledger.HOURS, Ledger.POINTS, out)
    assert (hours(bank.ana), points(bank.ana)) == (Decimal("1"), Decimal("20"))
    with pytest.raises(Conflict):  # only hours the member holds
        actions.convert_hours(bank.ana, hours="1.5", actor=bank.secretary)
    assert (hours(bank.ana), points(bank.ana), Transfer.objects.count()) == (1, 20, 3)
    assert reconcile() == []


def test_redemption_takes_points_and_stock_and_a_retry_is_done_once(bank):
    give_points(bank, bank.ana, 50)
    item = actions.add_item(bank.community, name="食用油", points=20, stock=3, actor=bank.secretary)

    first, created = actions.redeem(
        bank.ana, item, quantity=2, actor=bank.secretary, idempotency_key="k-1"
    )
    again, created_again = actions.redeem(
        bank.ana, item, quantity=2, actor=bank.secretary, idempotency_key="k-1"
    )

    item.refresh_from_db()
    assert (created, created_again, again) == (True, False, first)
    assert (first.points, item.stock, points(bank.ana)) == (40, 1, 10)
    with pytest.raises(Conflict):  # 10 points left, 20 needed
        actions.redeem(bank.ana, item, actor=bank.secretary)
    with pytest.raises(Conflict):  # the key names another redemption
        actions.redeem(bank.bo, item, quantity=2, actor=bank.secretary, idempotency_key="k-1")
    give_points(bank, bank.bo, 100)
    with pytest.raises(Conflict):  # one left
        actions.redeem(bank.bo, item, quantity=2, actor=bank.secretary)
    item.refresh_from_db()
    assert (item.stock, points(bank.ana), points(bank.bo)) == (1, 10, 100)


def test_statement_shows_running_balance_within_the_period(bank):
    from datetime import datetime

    from django.utils import timezone

    def at(day):
        return timezone.make_aware(datetime(2025, 6, day, 10, 0))

    actions.exchange_hours(bank.bo, bank.ana, hours="2", actor=None, memo="买菜", now=at(1))
    actions.exchange_hours(bank.bo, bank.ana, hours="1.5", actor=None, memo="修水管", now=at(10))
    actions.exchange_hours(bank.ana, bank.chen, hours="1", actor=None, memo="陪聊", now=at(12))
    actions.exchange_hours(bank.bo, bank.ana, hours="4", actor=None, memo="搬家", now=at(20))

    account = actions.account_of(bank.ana, Ledger.HOURS)
    s = statement(account, start=date(2025, 6, 5), end=date(2025, 6, 15))

    assert (s.opening, s.closing) == (Decimal("2"), Decimal("2.5"))
    assert [(r.memo, r.amount, r.balance) for r in s.rows] == [
        ("修水管", Decimal("1.5"), Decimal("3.5")),
        ("陪聊", Decimal("-1"), Decimal("2.5")),
    ]
    whole = statement(account)
    assert [r.balance for r in whole.rows] == [2, Decimal("3.5"), Decimal("2.5"), Decimal("6.5")]
