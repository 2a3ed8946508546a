"""Every change in the time bank and the points supermarket. Each action is one transaction
with its audit row; balances move only through `book`, which writes a transfer whose movements
sum to zero and keeps each account's cached balance in the same transaction.

Locks: `book` locks the accounts it moves in primary-key order (SELECT … FOR UPDATE), so two
bookings never wait on each other in a circle; a redemption locks the item first, then the
accounts. No one locks an item after an account, so the order holds everywhere. On SQLite the
database itself writes one transaction at a time.
"""

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.audit.actions import record_audit
from wangge.grids.models import GridCell, GridLevel
from wangge.lib.errors import Conflict, InvalidInput, PermissionDenied
from wangge.timebank.models import (
    HOURS_PLACES,
    Account,
    AccountKind,
    CatalogueItem,
    ClaimState,
    Ledger,
    Member,
    Movement,
    Period,
    PointsClaim,
    PointsRule,
    Policy,
    Redemption,
    TaskState,
    TaskVolunteer,
    Transfer,
    TransferKind,
    VolunteerTask,
)

CENT = Decimal(1).scaleb(-HOURS_PLACES)


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _community(cell: GridCell) -> GridCell:
    if cell.level != GridLevel.COMMUNITY:
        raise InvalidInput(fields={"community": _("Choose a village or community.")})
    return cell


def _hours(value, field: str = "hours") -> Decimal:
    try:
        hours = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidInput(fields={field: _("Enter a number of hours.")}) from None
    if not hours.is_finite() or hours <= 0 or hours != hours.quantize(CENT, ROUND_DOWN):
        raise InvalidInput(
            fields={field: _("Enter a positive number of hours with at most two decimals.")}
        )
    return hours


def _positive_int(value, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InvalidInput(fields={field: _("Enter a whole number above zero.")})
    return value


# --- policy, members and system accounts -----------------------------------------------------


def policy_of(community: GridCell) -> Policy:
    policy, _created = Policy.objects.get_or_create(community=_community(community))
    return policy


@transaction.atomic
def set_policy(
    community: GridCell,
    *,
    actor,
    max_debt_hours=None,
    max_credit_hours=None,
    points_per_hour: int | None = None,
) -> Policy:
    """Set a community's limits (they flag, not block) and its hours → points rate."""
    policy = policy_of(community)
    before = {
        "max_debt_hours": str(policy.max_debt_hours),
        "max_credit_hours": str(policy.max_credit_hours),
        "points_per_hour": policy.points_per_hour,
    }
    if max_debt_hours is not None:
        policy.max_debt_hours = _hours(max_debt_hours, "max_debt_hours")
    if max_credit_hours is not None:
        policy.max_credit_hours = _hours(max_credit_hours, "max_credit_hours")
    if points_per_hour is not None:
        if points_per_hour < 0:
            raise InvalidInput(fields={"points_per_hour": _("Enter zero or more.")})
        policy.points_per_hour = points_per_hour
    policy.save()
    after = {
        "max_debt_hours": str(policy.max_debt_hours),
        "max_credit_hours": str(policy.max_credit_hours),
        "points_per_hour": policy.points_per_hour,
    }
    record_audit(
        actor=actor,
        action="set_timebank_policy",
        obj=policy,
        detail={"before": before, "after": after},
    )
    return policy


def system_account(community: GridCell, ledger: str, kind: str) -> Account:
    """The community's pool (or store) account in a ledger, opened on first use."""
    try:
        with transaction.atomic():
            account, _created = Account.objects.get_or_create(
                community=community, ledger=ledger, kind=kind, member=None
            )
    except IntegrityError:  # opened by a concurrent first use
        account = Account.objects.get(community=community, ledger=ledger, kind=kind, member=None)
    return account


def account_of(member: Member, ledger: str) -> Account:
    return Account.objects.get(member=member, ledger=ledger)


def _lock(*accounts: Account) -> dict[int, Account]:
    """Lock accounts in primary-key order (the order `book` uses), fresh from the database."""
    rows = Account.objects.select_for_update(of=("self",)).filter(pk__in=[a.pk for a in accounts])
    return {a.pk: a for a in rows.select_related("community", "member").order_by("pk")}


@transaction.atomic
def enrol_member(
    community: GridCell, *, name: str, actor, phone: str = "", user=None, resident=None
) -> Member:
    """Open a member's hours and points accounts in the community: a volunteer, or someone the
    volunteers help. A resident of the registry is linked once per community."""
    name = (name or "").strip()
    if not name and resident is not None:
        name = resident.name
    if not name:
        raise InvalidInput(fields={"name": _("Enter a name.")})
    _community(community)
    if resident is not None:
        if not resident.household.cell.is_within(community):
            raise InvalidInput(fields={"resident": _("This resident lives in another community.")})
        if Member.objects.filter(community=community, resident=resident).exists():
            raise Conflict(_("This resident is already a member here."))
    member = Member.objects.create(
        community=community, name=name[:50], phone=phone.strip(), user=user, resident=resident
    )
    for ledger in Ledger.values:
        Account.objects.create(
            community=community, ledger=ledger, kind=AccountKind.MEMBER, member=member
        )
    record_audit(
        actor=actor,
        action="enrol_timebank_member",
        obj=member,
        detail={"community": community.code, "resident": resident.pk if resident else None},
    )
    return member


# --- booking ----------------------------------------------------------------------------------


def _flag_if_beyond_limits(account: Account, *, now: datetime) -> None:
    """An hours account beyond its community's limits is flagged for the secretary (and the
    flag cleared once it is back within them); the transfer itself stands."""
    policy = policy_of(account.community)
    if account.balance < -policy.max_debt_hours:
        reason = _("Owes %(hours)s hours; the limit is %(limit)s.") % {
            "hours": -account.balance,
            "limit": policy.max_debt_hours,
        }
    elif account.balance > policy.max_credit_hours:
        reason = _("Holds %(hours)s hours; the limit is %(limit)s.") % {
            "hours": account.balance,
            "limit": policy.max_credit_hours,
        }
    else:
        reason = ""
    if bool(reason) == account.flagged:
        return
    Account.objects.filter(pk=account.pk).update(
        flagged=bool(reason), flag_reason=reason, flagged_at=now if reason else None
    )
    record_audit(
        actor=None,
        action="flag_timebank_account" if reason else "unflag_timebank_account",
        obj=account,
        detail={"balance": str(account.balance)},
        reason=reason,
    )


@transaction.atomic
def book(
    *,
    community: GridCell,
    ledger: str,
    kind: str,
    legs: list[tuple[Account, Decimal | int]],
    actor,
    memo: str = "",
    corrects: Transfer | None = None,
    pair: Transfer | None = None,
    now: datetime | None = None,
) -> Transfer:
    """Write one transfer: two or more movements in one ledger of one community that sum to
    zero. A member's points may not go below zero; hours beyond the limits flag the account."""
    now = _now(now)
    if len(legs) < 2:
        raise InvalidInput(fields={"legs": _("A transfer needs at least two movements.")})
    amounts = []
    for account, amount in legs:
        amount = Decimal(str(amount))
        if account.ledger != ledger or account.community_id != community.pk:
            raise InvalidInput(fields={"legs": _("Every movement must be in the same ledger.")})
        if amount == 0 or amount != amount.quantize(CENT, ROUND_DOWN):
            raise InvalidInput(fields={"legs": _("Amounts are non-zero, in hundredths.")})
        if ledger == Ledger.POINTS and amount != amount.to_integral_value():
            raise InvalidInput(fields={"legs": _("Points are whole numbers.")})
        amounts.append(amount)
    if sum(amounts) != 0:
        raise InvalidInput(fields={"legs": _("The movements of a transfer must sum to zero.")})

    delta: dict[int, Decimal] = defaultdict(Decimal)
    for (account, _amount), amount in zip(legs, amounts, strict=True):
        delta[account.pk] += amount
    locked = _lock(*(account for account, _amount in legs))
    for pk, change in delta.items():
        account = locked[pk]
        if (
            account.ledger == Ledger.POINTS
            and account.kind == AccountKind.MEMBER
            and account.balance + change < 0
        ):
            raise Conflict(
                _("Not enough points: %(name)s has %(have)s."),
                name=account.member.name,
                have=int(account.balance),
            )
    transfer = Transfer.objects.create(
        community=community,
        ledger=ledger,
        kind=kind,
        memo=memo[:200],
        corrects=corrects,
        pair=pair,
        created_by=actor if actor and actor.pk else None,
        created_at=now,
    )
    Movement.objects.bulk_create(
        Movement(transfer=transfer, account=account, amount=amount)
        for (account, _amount), amount in zip(legs, amounts, strict=True)
    )
    for pk in sorted(delta):
        if delta[pk]:
            Account.objects.filter(pk=pk).update(balance=F("balance") + delta[pk])
        account = locked[pk]
        account.balance += delta[pk]
        if account.ledger == Ledger.HOURS and account.kind == AccountKind.MEMBER:
            _flag_if_beyond_limits(account, now=now)
    return transfer


@transaction.atomic
def correct_transfer(
    original: Transfer,
    *,
    reason: str,
    actor,
    legs: list[tuple[Account, Decimal | int]] | None = None,
    now: datetime | None = None,
) -> Transfer:
    """更正: a new transfer that names the one it corrects: its exact reverse unless other legs
    are given. The original stays as it was; a transfer is reversed in full at most once."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(fields={"reason": _("Say why this needs correcting.")})
    original = Transfer.objects.select_for_update().get(pk=original.pk)
    if legs is None:
        if original.corrections.exists():
            raise Conflict(_("This transfer has already been corrected."))
        legs = [(m.account, -m.amount) for m in original.movements.select_related("account")]
    transfer = book(
        community=original.community,
        ledger=original.ledger,
        kind=TransferKind.CORRECTION,
        legs=legs,
        actor=actor,
        memo=reason,
        corrects=original,
        now=now,
    )
    record_audit(
        actor=actor,
        action="correct_timebank_transfer",
        obj=transfer,
        detail={"corrects": original.pk},
        reason=reason,
    )
    return transfer


@transaction.atomic
def exchange_hours(
    payer: Member, payee: Member, *, hours, actor, memo: str = "", now: datetime | None = None
) -> Transfer:
    """互助: one member helped another; the hours go from the one helped to the helper."""
    hours = _hours(hours)
    if payer.pk == payee.pk or payer.community_id != payee.community_id:
        raise InvalidInput(fields={"payee": _("Choose another member of the same community.")})
    transfer = book(
        community=payer.community,
        ledger=Ledger.HOURS,
        kind=TransferKind.EXCHANGE,
        legs=[(account_of(payer, Ledger.HOURS), -hours), (account_of(payee, Ledger.HOURS), hours)],
        actor=actor,
        memo=memo,
        now=now,
    )
    record_audit(
        actor=actor,
        action="exchange_hours",
        obj=transfer,
        detail={"from": payer.pk, "to": payee.pk, "hours": str(hours)},
    )
    return transfer


# --- volunteer tasks --------------------------------------------------------------------------


@transaction.atomic
def create_task(
    community: GridCell,
    *,
    title: str,
    hours,
    organiser,
    description: str = "",
    case=None,
    volunteers: list[Member] = (),
) -> VolunteerTask:
    """志愿服务: a task for volunteers, perhaps to help with a case of the community."""
    title = (title or "").strip()
    if not title:
        raise InvalidInput(fields={"title": _("Enter a title.")})
    _community(community)
    if case is not None and not case.handling_cell.is_within(community):
        raise InvalidInput(fields={"case": _("This case is not in this community.")})
    task = VolunteerTask.objects.create(
        community=community,
        title=title[:200],
        description=description,
        case=case,
        hours=_hours(hours),
        organiser=organiser,
    )
    for member in volunteers:
        _add_volunteer(task, member)
    record_audit(
        actor=organiser,
        action="create_volunteer_task",
        obj=task,
        detail={"hours": str(task.hours), "case": case.pk if case else None},
    )
    return task


def _add_volunteer(task: VolunteerTask, member: Member) -> TaskVolunteer:
    if member.community_id != task.community_id:
        raise InvalidInput(fields={"member": _("This member belongs to another community.")})
    volunteer, _created = TaskVolunteer.objects.get_or_create(task=task, member=member)
    return volunteer


@transaction.atomic
def add_volunteer(task: VolunteerTask, member: Member, *, actor) -> TaskVolunteer:
    """A member signs up for an open task (or is signed up by staff)."""
    task = VolunteerTask.objects.select_for_update().get(pk=task.pk)
    if task.state != TaskState.OPEN:
        raise Conflict(_("This task is no longer open."))
    volunteer = _add_volunteer(task, member)
    record_audit(actor=actor, action="add_volunteer", obj=task, detail={"member": member.pk})
    return volunteer


@transaction.atomic
def confirm_task(task: VolunteerTask, *, actor, now: datetime | None = None) -> VolunteerTask:
    """确认完成: the organiser confirms the task was done; each volunteer is credited the task's
    hours from the community's pool, in one transfer, once."""
    now = _now(now)
    if actor is None or task.organiser_id != actor.pk:
        raise PermissionDenied(_("Only the organiser of the task can confirm it."))
    members = [v.member for v in task.volunteers.select_related("member")]
    if not members:
        raise InvalidInput(fields={"volunteers": _("No volunteer has signed up for this task.")})
    won = VolunteerTask.objects.filter(pk=task.pk, state=TaskState.OPEN).update(
        state=TaskState.DONE, confirmed_at=now
    )
    if won != 1:
        raise Conflict(_("This task is no longer open."))
    pool = system_account(task.community, Ledger.HOURS, AccountKind.POOL)
    legs = [(pool, -task.hours * len(members))]
    legs += [(account_of(m, Ledger.HOURS), task.hours) for m in members]
    transfer = book(
        community=task.community,
        ledger=Ledger.HOURS,
        kind=TransferKind.TASK,
        legs=legs,
        actor=actor,
        memo=task.title,
        now=now,
    )
    VolunteerTask.objects.filter(pk=task.pk).update(transfer=transfer)
    record_audit(
        actor=actor,
        action="confirm_volunteer_task",
        obj=task,
        detail={"volunteers": [m.pk for m in members], "hours": str(task.hours)},
    )
    task.refresh_from_db()
    return task


@transaction.atomic
def cancel_task(task: VolunteerTask, *, actor, reason: str) -> VolunteerTask:
    if not (reason or "").strip():
        raise InvalidInput(fields={"reason": _("Say why the task is cancelled.")})
    won = VolunteerTask.objects.filter(pk=task.pk, state=TaskState.OPEN).update(
        state=TaskState.CANCELLED
    )
    if won != 1:
        raise Conflict(_("This task is no longer open."))
    record_audit(actor=actor, action="cancel_volunteer_task", obj=task, reason=reason)
    task.refresh_from_db()
    return task


# --- red points: rules, claims, conversion -----------------------------------------------------


@transaction.atomic
def create_rule(
    community: GridCell, *, name: str, points: int, actor, cap: int | None = None, period=None
) -> PointsRule:
    """积分规则: an action that earns `points`, at most `cap` per member per period."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput(fields={"name": _("Enter a name.")})
    _positive_int(points, "points")
    if cap is not None:
        _positive_int(cap, "cap")
    period = period or Period.MONTH
    if period not in Period.values:
        raise InvalidInput(fields={"period": _("Choose one of the allowed values.")})
    rule = PointsRule.objects.create(
        community=_community(community), name=name[:100], points=points, cap=cap, period=period
    )
    record_audit(
        actor=actor,
        action="create_points_rule",
        obj=rule,
        detail={"points": points, "cap": cap, "period": period},
    )
    return rule


def period_of(day: date, period: str) -> tuple[date, date]:
    """The period (first day, first day after) that contains `day`."""
    if period == Period.DAY:
        return day, day + timedelta(days=1)
    if period == Period.WEEK:
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    if period == Period.MONTH:
        start = day.replace(day=1)
        return start, (start + timedelta(days=32)).replace(day=1)
    start = day.replace(month=1, day=1)
    return start, start.replace(year=start.year + 1)


@transaction.atomic
def claim_points(
    member: Member, rule: PointsRule, *, done_on: date, actor, note: str = ""
) -> PointsClaim:
    """申报积分: a member's claim under a rule; it waits for approval."""
    if rule.community_id != member.community_id or not rule.active:
        raise InvalidInput(fields={"rule": _("Choose a rule of this community.")})
    if done_on > timezone.localdate():
        raise InvalidInput(fields={"done_on": _("This date is in the future.")})
    claim = PointsClaim.objects.create(
        member=member, rule=rule, done_on=done_on, note=note[:200], created_by=actor
    )
    record_audit(actor=actor, action="claim_points", obj=claim, detail={"rule": rule.pk})
    return claim


@transaction.atomic
def approve_claim(claim: PointsClaim, *, actor, now: datetime | None = None) -> PointsClaim:
    """审核通过: the rule's points go from the community's pool to the member, up to what the
    rule's cap leaves for the member in that period; a claim is decided once."""
    now = _now(now)
    claim = PointsClaim.objects.select_related("rule", "member__community").get(pk=claim.pk)
    account = account_of(claim.member, Ledger.POINTS)
    pool = system_account(claim.member.community, Ledger.POINTS, AccountKind.POOL)
    # One approval at a time per member, so two cannot both fit under the cap.
    _lock(account, pool)
    claim.refresh_from_db(fields=["state"])
    if claim.state != ClaimState.PENDING:
        raise Conflict(_("This claim has already been decided."))
    rule = claim.rule
    points = rule.points
    if rule.cap is not None:
        start, end = period_of(claim.done_on, rule.period)
        earned = (
            PointsClaim.objects.filter(
                member=claim.member,
                rule=rule,
                state=ClaimState.APPROVED,
                done_on__gte=start,
                done_on__lt=end,
            ).aggregate(s=Sum("points"))["s"]
            or 0
        )
        points = min(points, rule.cap - earned)
        if points <= 0:
            raise Conflict(
                _("%(name)s has reached the cap of %(cap)s points %(period)s for this rule."),
                name=claim.member.name,
                cap=rule.cap,
                period=rule.get_period_display(),
            )
    transfer = book(
        community=claim.member.community,
        ledger=Ledger.POINTS,
        kind=TransferKind.CLAIM,
        legs=[(pool, -points), (account, points)],
        actor=actor,
        memo=rule.name,
        now=now,
    )
    won = PointsClaim.objects.filter(pk=claim.pk, state=ClaimState.PENDING).update(
        state=ClaimState.APPROVED,
        points=points,
        decided_by=actor,
        decided_at=now,
        transfer=transfer,
    )
    if won != 1:
        raise Conflict(_("This claim has already been decided."))
    record_audit(actor=actor, action="approve_points_claim", obj=claim, detail={"points": points})
    claim.refresh_from_db()
    return claim


@transaction.atomic
def reject_claim(
    claim: PointsClaim, *, actor, reason: str, now: datetime | None = None
) -> PointsClaim:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(fields={"reason": _("Say why the claim is rejected.")})
    won = PointsClaim.objects.filter(pk=claim.pk, state=ClaimState.PENDING).update(
        state=ClaimState.REJECTED, decided_by=actor, decided_at=_now(now), reason=reason[:200]
    )
    if won != 1:
        raise Conflict(_("This claim has already been decided."))
    record_audit(actor=actor, action="reject_points_claim", obj=claim, reason=reason)
    claim.refresh_from_db()
    return claim


@transaction.atomic
def convert_hours(
    member: Member, *, hours, actor, now: datetime | None = None
) -> tuple[Transfer, Transfer]:
    """时间兑积分: a member gives hours back to the pool and receives points at the community's
    rate: one transfer in each ledger, in one transaction. Only hours the member holds."""
    hours = _hours(hours)
    rate = policy_of(member.community).points_per_hour
    if not rate:
        raise Conflict(_("This community does not convert hours into points."))
    points = hours * rate
    if points != points.to_integral_value():
        raise InvalidInput(fields={"hours": _("These hours do not make whole points.")})
    community = member.community
    hours_pool = system_account(community, Ledger.HOURS, AccountKind.POOL)
    points_pool = system_account(community, Ledger.POINTS, AccountKind.POOL)
    points_account = account_of(member, Ledger.POINTS)
    hours_account = account_of(member, Ledger.HOURS)
    hours_account = _lock(hours_account, hours_pool, points_pool, points_account)[hours_account.pk]
    if hours_account.balance < hours:
        raise Conflict(
            _("Not enough hours: %(name)s has %(have)s."),
            name=member.name,
            have=hours_account.balance,
        )
    out = book(
        community=community,
        ledger=Ledger.HOURS,
        kind=TransferKind.CONVERSION,
        legs=[(hours_account, -hours), (hours_pool, hours)],
        actor=actor,
        memo=_("%(hours)s hours to points") % {"hours": hours},
        now=now,
    )
    into = book(
        community=community,
        ledger=Ledger.POINTS,
        kind=TransferKind.CONVERSION,
        legs=[(points_pool, -points), (points_account, points)],
        actor=actor,
        memo=_("%(hours)s hours to points") % {"hours": hours},
        pair=out,
        now=now,
    )
    record_audit(
        actor=actor,
        action="convert_hours",
        obj=member,
        detail={"hours": str(hours), "points": int(points), "rate": rate},
    )
    return out, into


# --- the points supermarket -----------------------------------------------------------------


@transaction.atomic
def add_item(community: GridCell, *, name: str, points: int, stock: int, actor) -> CatalogueItem:
    name = (name or "").strip()
    if not name:
        raise InvalidInput(fields={"name": _("Enter a name.")})
    _positive_int(points, "points")
    if not isinstance(stock, int) or stock < 0:
        raise InvalidInput(fields={"stock": _("Enter zero or more.")})
    item = CatalogueItem.objects.create(
        community=_community(community), name=name[:100], points=points, stock=stock
    )
    record_audit(
        actor=actor,
        action="add_catalogue_item",
        obj=item,
        detail={"points": points, "stock": stock},
    )
    return item


@transaction.atomic
def restock_item(item: CatalogueItem, *, added: int, actor) -> CatalogueItem:
    _positive_int(added, "added")
    CatalogueItem.objects.filter(pk=item.pk).update(stock=F("stock") + added)
    record_audit(actor=actor, action="restock_catalogue_item", obj=item, detail={"added": added})
    item.refresh_from_db()
    return item


def redeem(
    member: Member,
    item: CatalogueItem,
    *,
    quantity: int = 1,
    actor,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> tuple[Redemption, bool]:
    """兑换: the member takes `quantity` of the item for its points. Never more than the stock,
    never more points than the member has, even when redemptions run at once; a retry with the
    same idempotency key returns the first redemption (and False)."""
    key = (idempotency_key or "").strip() or None
    try:
        return _redeem(member, item, quantity=quantity, actor=actor, key=key, now=_now(now))
    except IntegrityError:
        # The same key committed by a concurrent request between our check and our insert.
        seen = Redemption.objects.filter(idempotency_key=key).first() if key else None
        if seen is None:
            raise
        return _same_redemption(seen, member, item, quantity), False


def _same_redemption(seen: Redemption, member, item, quantity) -> Redemption:
    if (seen.member_id, seen.item_id, seen.quantity) != (member.pk, item.pk, quantity):
        raise Conflict(_("This idempotency key was used for another redemption."))
    return seen


@transaction.atomic
def _redeem(member, item, *, quantity, actor, key, now) -> tuple[Redemption, bool]:
    _positive_int(quantity, "quantity")
    if key and (seen := Redemption.objects.filter(idempotency_key=key).first()):
        return _same_redemption(seen, member, item, quantity), False
    if item.community_id != member.community_id:
        raise InvalidInput(fields={"item": _("This item is offered by another community.")})
    item = CatalogueItem.objects.select_for_update().get(pk=item.pk)
    # A request with the same key may have committed while we waited for the item.
    if key and (seen := Redemption.objects.filter(idempotency_key=key).first()):
        return _same_redemption(seen, member, item, quantity), False
    if not item.active:
        raise Conflict(_("This item is no longer offered."))
    if item.stock < quantity:
        raise Conflict(_("Only %(stock)s left of “%(item)s”."), stock=item.stock, item=item.name)
    points = item.points * quantity
    community = member.community
    transfer = book(  # refuses, and rolls back, if the member has too few points
        community=community,
        ledger=Ledger.POINTS,
        kind=TransferKind.REDEMPTION,
        legs=[
            (account_of(member, Ledger.POINTS), -points),
            (system_account(community, Ledger.POINTS, AccountKind.STORE), points),
        ],
        actor=actor,
        memo=f"{item.name} × {quantity}",
        now=now,
    )
    CatalogueItem.objects.filter(pk=item.pk).update(stock=F("stock") - quantity)
    redemption = Redemption.objects.create(
        member=member,
        item=item,
        quantity=quantity,
        points=points,
        transfer=transfer,
        idempotency_key=key,
        created_by=actor if actor and actor.pk else None,
        created_at=now,
    )
    record_audit(
        actor=actor,
        action="redeem_points",
        obj=redemption,
        detail={"item": item.pk, "quantity": quantity, "points": points},
    )
    return redemption, True
