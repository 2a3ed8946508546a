"""Read side of the time bank and the points supermarket: every staff read starts from the
communities the user holds with MANAGE_COMMUNITY (default deny); outside them an object answers
404 like a missing one.

A community is in a user's scope when it lies in the subtree of one of their cells, or when one
of their cells lies inside it: a grid worker holds a grid, and the time bank is kept by the
community that grid belongs to."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from wangge.accounts.permissions import Perm
from wangge.accounts.queries import communities_q
from wangge.grids.models import GridCell, GridLevel
from wangge.lib.errors import NotFound
from wangge.timebank.models import (
    Account,
    AccountKind,
    CatalogueItem,
    ClaimState,
    Ledger,
    Member,
    Movement,
    PointsClaim,
    Redemption,
    TaskState,
    Transfer,
    TransferKind,
    VolunteerTask,
)

ZERO = Decimal("0")
CENT = Decimal("0.01")


def _sum(value) -> Decimal:
    """A sum of amounts in hundredths. SQLite adds decimals as floating point (1e-16 off);
    PostgreSQL's numeric is exact; rounding to the stored precision gives both the same."""
    return Decimal(value or 0).quantize(CENT)


def visible_communities(user, perm: Perm = Perm.MANAGE_COMMUNITY) -> QuerySet[GridCell]:
    scope = communities_q(user, perm, "")
    if scope is None:
        return GridCell.objects.none()
    return GridCell.objects.filter(scope, level=GridLevel.COMMUNITY).defer("geometry")


def _in_scope(user, perm: Perm, model, prefix: str = "community__") -> QuerySet:
    scope = communities_q(user, perm, prefix)
    return model.objects.filter(scope) if scope is not None else model.objects.none()


def visible_members(user, perm: Perm = Perm.MANAGE_COMMUNITY) -> QuerySet[Member]:
    return _in_scope(user, perm, Member).select_related("community")


def visible_accounts(user, perm: Perm = Perm.MANAGE_COMMUNITY) -> QuerySet[Account]:
    return _in_scope(user, perm, Account).select_related("member", "community")


def visible_tasks(user, perm: Perm = Perm.MANAGE_COMMUNITY) -> QuerySet[VolunteerTask]:
    return _in_scope(user, perm, VolunteerTask).select_related("community", "organiser")


def visible_claims(user, perm: Perm = Perm.MANAGE_COMMUNITY) -> QuerySet[PointsClaim]:
    return _in_scope(user, perm, PointsClaim, "member__community__").select_related(
        "member", "rule"
    )


def visible_items(user, perm: Perm = Perm.MANAGE_COMMUNITY) -> QuerySet[CatalogueItem]:
    return _in_scope(user, perm, CatalogueItem)


def visible_transfers(user, perm: Perm = Perm.MANAGE_COMMUNITY) -> QuerySet[Transfer]:
    return _in_scope(user, perm, Transfer)


def get_or_404(queryset: QuerySet, pk: int):
    obj = queryset.filter(pk=pk).first()
    if obj is None:
        raise NotFound()
    return obj


def community_by_code(code: str) -> GridCell:
    """A community for its public page: any community, by code."""
    cell = GridCell.objects.filter(code=code, level=GridLevel.COMMUNITY).defer("geometry").first()
    if cell is None:
        raise NotFound()
    return cell


# --- balances ---------------------------------------------------------------------------------


def balance_of(account: Account, *, before: datetime | None = None) -> Decimal:
    """The sum of the account's movements (booked before `before`, if given): the truth that
    `Account.balance` caches."""
    movements = Movement.objects.filter(account=account)
    if before is not None:
        movements = movements.filter(transfer__created_at__lt=before)
    return _sum(movements.aggregate(s=Sum("amount"))["s"])


def reconcile(community: GridCell | None = None) -> list[tuple[Account, Decimal]]:
    """Accounts whose cached balance differs from the sum of their movements (none, normally),
    each with that sum."""
    accounts = Account.objects.all()
    if community is not None:
        accounts = accounts.filter(community=community)
    sums = {
        pk: _sum(total)
        for pk, total in Movement.objects.filter(account__in=accounts)
        .values_list("account")
        .annotate(s=Sum("amount"))
        .values_list("account", "s")
    }
    return [(a, sums.get(a.pk, ZERO)) for a in accounts if a.balance != sums.get(a.pk, ZERO)]


def unbalanced_transfers() -> list[Transfer]:
    """Transfers whose movements do not sum to zero, or that have fewer than two (never, if
    every booking went through `actions.book`). Compared in Python: SQLite sums decimals as
    floating point, and the sums come back rounded to hundredths."""
    totals = Transfer.objects.annotate(total=Sum("movements__amount"), legs=Count("movements"))
    return [t for t in totals.order_by("pk") if t.legs < 2 or _sum(t.total) != 0]


# --- statements -------------------------------------------------------------------------------


@dataclass
class StatementRow:
    booked_at: datetime
    transfer_id: int
    kind: str
    kind_label: str
    memo: str
    amount: Decimal
    balance: Decimal
    corrects_id: int | None


@dataclass
class Statement:
    account: Account
    start: date | None
    end: date | None
    opening: Decimal
    rows: list[StatementRow]
    closing: Decimal


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def statement(account: Account, *, start: date | None = None, end: date | None = None) -> Statement:
    """The account's movements from `start` to `end` (local days, both included), each with the
    balance after it, starting from the balance before `start`."""
    before = _day_start(start) if start else None
    opening = balance_of(account, before=before) if before else ZERO
    movements = Movement.objects.filter(account=account).select_related("transfer")
    if before:
        movements = movements.filter(transfer__created_at__gte=before)
    if end:
        movements = movements.filter(transfer__created_at__lt=_day_start(end + timedelta(days=1)))
    rows, running = [], opening
    for m in movements.order_by("transfer__created_at", "transfer_id", "id"):
        running += m.amount
        t = m.transfer
        rows.append(
            StatementRow(
                booked_at=t.created_at,
                transfer_id=t.pk,
                kind=t.kind,
                kind_label=str(t.get_kind_display()),
                memo=t.memo,
                amount=m.amount,
                balance=running,
                corrects_id=t.corrects_id,
            )
        )
    return Statement(account, start, end, opening, rows, running)


# --- the public page --------------------------------------------------------------------------


@dataclass
class CommunityTotals:
    members: int
    hours_credited: Decimal
    tasks_done: int
    points_awarded: Decimal
    points_redeemed: Decimal
    redemptions: int


def _booked(community: GridCell, ledger: str, kind: str) -> Decimal:
    """What the transfers of one kind put into members' accounts, net of their corrections."""
    moved = Movement.objects.filter(
        account__community=community, account__ledger=ledger, account__kind=AccountKind.MEMBER
    ).filter(Q(transfer__kind=kind) | Q(transfer__corrects__kind=kind))
    return _sum(moved.aggregate(s=Sum("amount"))["s"])


def community_totals(community: GridCell) -> CommunityTotals:
    return CommunityTotals(
        members=Member.objects.filter(community=community).count(),
        hours_credited=_booked(community, Ledger.HOURS, TransferKind.TASK),
        tasks_done=VolunteerTask.objects.filter(community=community, state=TaskState.DONE).count(),
        points_awarded=_booked(community, Ledger.POINTS, TransferKind.CLAIM),
        points_redeemed=-_booked(community, Ledger.POINTS, TransferKind.REDEMPTION),
        redemptions=Redemption.objects.filter(member__community=community).count(),
    )


def top_volunteers(community: GridCell, *, limit: int = 10) -> list[tuple[str, Decimal]]:
    """Members by hours credited for confirmed tasks (names, to be masked by the caller)."""
    rows = (
        Movement.objects.filter(
            account__community=community,
            account__ledger=Ledger.HOURS,
            account__kind=AccountKind.MEMBER,
        )
        .filter(Q(transfer__kind=TransferKind.TASK) | Q(transfer__corrects__kind=TransferKind.TASK))
        .values("account__member__name", "account__member_id")
        .annotate(hours=Sum("amount"))
        .filter(hours__gt=0)
        .order_by("-hours", "account__member_id")[:limit]
    )
    return [(r["account__member__name"], _sum(r["hours"])) for r in rows]


def pending_claims(community: GridCell) -> QuerySet[PointsClaim]:
    return PointsClaim.objects.filter(
        member__community=community, state=ClaimState.PENDING
    ).select_related("member", "rule")
