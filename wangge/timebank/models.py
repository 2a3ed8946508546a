"""时间银行 and 红色积分: two ledgers kept by double entry, per community (a grid cell of level
community).

Every change of a balance is a `Transfer` with two or more `Movement`s that sum to zero; both are
written once and never changed or deleted (a mistake is put right by a new transfer that names
the one it corrects). An account's balance is the sum of its movements; `Account.balance` keeps
that sum beside the row, updated in the transfer's transaction, so redemptions can check and lock
one row, and `queries.reconcile` compares the two.

The hours ledger (`HOURS`) credits volunteers from the community's pool when a task is confirmed;
members may owe hours (within the community's limits, which flag an account but do not block it).
The points ledger (`POINTS`) pays out approved claims from the pool and takes redemptions of the
积分超市 into the store account; a member's points never go below zero.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wangge.lib.crypto import EncryptedTextField
from wangge.lib.errors import Conflict

HOURS_PLACES = 2


class Ledger(models.TextChoices):
    HOURS = "hours", _("Time bank hours")
    POINTS = "points", _("Red points")


class AccountKind(models.TextChoices):
    MEMBER = "member", _("Member")
    POOL = "pool", _("Community pool")  # issues hours and points
    STORE = "store", _("Points supermarket")  # receives redeemed points


class TransferKind(models.TextChoices):
    TASK = "task", _("Volunteer task confirmed")
    EXCHANGE = "exchange", _("Help between members")
    CLAIM = "claim", _("Points claim approved")
    REDEMPTION = "redemption", _("Redemption")
    CONVERSION = "conversion", _("Hours converted to points")
    CORRECTION = "correction", _("Correction")


class Period(models.TextChoices):
    DAY = "day", _("per day")
    WEEK = "week", _("per week")
    MONTH = "month", _("per month")
    YEAR = "year", _("per year")


class Policy(models.Model):
    """A community's settings for both ledgers. Crossing a limit flags an account for the
    secretary to look at; it does not refuse the transfer."""

    community = models.OneToOneField(
        "grids.GridCell", on_delete=models.PROTECT, related_name="timebank_policy"
    )
    max_debt_hours = models.DecimalField(
        _("most hours a member may owe"), max_digits=10, decimal_places=2, default=20
    )
    max_credit_hours = models.DecimalField(
        _("most hours a member may hold"), max_digits=10, decimal_places=2, default=500
    )
    points_per_hour = models.PositiveIntegerField(
        _("points for one hour (0: no conversion)"), default=0
    )

    class Meta:
        verbose_name = _("time bank policy")
        verbose_name_plural = _("time bank policies")

    def __str__(self):
        return str(self.community)


class Member(models.Model):
    """A volunteer or a person helped: a resident of the registry or not, with a login or not."""

    community = models.ForeignKey(
        "grids.GridCell", on_delete=models.PROTECT, related_name="timebank_members"
    )
    name = models.CharField(_("name"), max_length=50)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="timebank_memberships",
    )
    resident = models.ForeignKey(
        "people.Resident",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="timebank_memberships",
    )
    phone = EncryptedTextField(_("phone"), blank=True)
    joined_at = models.DateTimeField(_("joined"), auto_now_add=True)

    class Meta:
        verbose_name = _("time bank member")
        verbose_name_plural = _("time bank members")
        ordering = ["community", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["community", "resident"],
                condition=Q(resident__isnull=False),
                name="timebank_member_unique_resident",
            ),
        ]

    def __str__(self):
        return self.name


class Account(models.Model):
    """One member's (or the community's pool's, or the store's) account in one ledger."""

    community = models.ForeignKey(
        "grids.GridCell", on_delete=models.PROTECT, related_name="timebank_accounts"
    )
    ledger = models.CharField(_("ledger"), max_length=10, choices=Ledger.choices)
    kind = models.CharField(_("kind"), max_length=10, choices=AccountKind.choices)
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, null=True, blank=True, related_name="accounts"
    )
    # The sum of this account's movements, kept in the same transaction as each movement.
    balance = models.DecimalField(_("balance"), max_digits=14, decimal_places=2, default=0)
    flagged = models.BooleanField(_("flagged"), default=False)
    flag_reason = models.CharField(_("why flagged"), max_length=200, blank=True)
    flagged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["community", "ledger", "kind", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "ledger"],
                condition=Q(member__isnull=False),
                name="timebank_account_one_per_member",
            ),
            models.UniqueConstraint(
                fields=["community", "ledger", "kind"],
                condition=Q(member__isnull=True),
                name="timebank_account_one_system_account",
            ),
            models.CheckConstraint(
                condition=Q(kind=AccountKind.MEMBER, member__isnull=False)
                | (~Q(kind=AccountKind.MEMBER) & Q(member__isnull=True)),
                name="timebank_account_member_iff_member_kind",
            ),
            # A member's points are never overdrawn, whatever code path writes.
            models.CheckConstraint(
                condition=~Q(ledger=Ledger.POINTS, kind=AccountKind.MEMBER) | Q(balance__gte=0),
                name="timebank_member_points_not_negative",
            ),
        ]

    def __str__(self):
        owner = self.member.name if self.member_id else self.get_kind_display()
        return f"{owner} · {self.get_ledger_display()}"


class ImmutableQuerySet(models.QuerySet):
    """Ledger rows are history: no bulk edit or delete either."""

    def update(self, **kwargs):
        raise Conflict(_("Ledger entries cannot be changed; record a correction instead."))

    def delete(self):
        raise Conflict(_("Ledger entries cannot be deleted; record a correction instead."))


class ImmutableModel(models.Model):
    objects = ImmutableQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise Conflict(_("Ledger entries cannot be changed; record a correction instead."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise Conflict(_("Ledger entries cannot be deleted; record a correction instead."))


class Transfer(ImmutableModel):
    """One booking in one ledger: its movements sum to zero."""

    community = models.ForeignKey(
        "grids.GridCell", on_delete=models.PROTECT, related_name="timebank_transfers"
    )
    ledger = models.CharField(_("ledger"), max_length=10, choices=Ledger.choices)
    kind = models.CharField(_("kind"), max_length=12, choices=TransferKind.choices)
    memo = models.CharField(_("memo"), max_length=200, blank=True)
    corrects = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="corrections",
        verbose_name=_("corrects"),
    )
    # A conversion books one transfer in each ledger; the points one names the hours one.
    pair = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="paired_with"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("booked at"))

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"#{self.pk} {self.get_kind_display()}"


class Movement(ImmutableModel):
    """One leg of a transfer: a signed amount on one account."""

    transfer = models.ForeignKey(Transfer, on_delete=models.PROTECT, related_name="movements")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="movements")
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("movement")
        verbose_name_plural = _("movements")
        ordering = ["transfer_id", "id"]
        indexes = [models.Index(fields=["account", "transfer"], name="timebank_mv_account_idx")]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="timebank_movement_not_zero"),
        ]

    def __str__(self):
        return f"{self.account}: {self.amount}"


class TaskState(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class VolunteerTask(models.Model):
    """志愿服务: work volunteers do for the community, perhaps for a case; their hours are
    credited from the pool when the organiser confirms it was done."""

    community = models.ForeignKey(
        "grids.GridCell", on_delete=models.PROTECT, related_name="timebank_tasks"
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    case = models.ForeignKey(
        "cases.Case",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="volunteer_tasks",
        verbose_name=_("case"),
    )
    hours = models.DecimalField(_("hours per volunteer"), max_digits=6, decimal_places=2)
    organiser = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="organised_tasks"
    )
    state = models.CharField(
        _("state"), max_length=10, choices=TaskState.choices, default=TaskState.OPEN
    )
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    transfer = models.OneToOneField(
        Transfer, on_delete=models.PROTECT, null=True, blank=True, related_name="task"
    )

    class Meta:
        verbose_name = _("volunteer task")
        verbose_name_plural = _("volunteer tasks")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.title


class TaskVolunteer(models.Model):
    task = models.ForeignKey(VolunteerTask, on_delete=models.PROTECT, related_name="volunteers")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="tasks")

    class Meta:
        verbose_name = _("volunteer")
        verbose_name_plural = _("volunteers")
        ordering = ["task", "id"]
        constraints = [
            models.UniqueConstraint(fields=["task", "member"], name="timebank_task_member_once")
        ]


class PointsRule(models.Model):
    """Which action earns how many red points in a community, with a cap per member and period."""

    community = models.ForeignKey(
        "grids.GridCell", on_delete=models.PROTECT, related_name="points_rules"
    )
    name = models.CharField(_("action"), max_length=100)
    points = models.PositiveIntegerField(_("points"))
    cap = models.PositiveIntegerField(_("most points per member and period"), null=True)
    period = models.CharField(
        _("period"), max_length=8, choices=Period.choices, default=Period.MONTH
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("points rule")
        verbose_name_plural = _("points rules")
        ordering = ["community", "name"]

    def __str__(self):
        return self.name


class ClaimState(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class PointsClaim(models.Model):
    """A member's claim to points under a rule, for something done on a day; decided once."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="claims")
    rule = models.ForeignKey(PointsRule, on_delete=models.PROTECT, related_name="claims")
    done_on = models.DateField(_("done on"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=ClaimState.choices, default=ClaimState.PENDING
    )
    points = models.PositiveIntegerField(_("points awarded"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    transfer = models.OneToOneField(
        Transfer, on_delete=models.PROTECT, null=True, blank=True, related_name="claim"
    )

    class Meta:
        verbose_name = _("points claim")
        verbose_name_plural = _("points claims")
        ordering = ["-created_at", "-id"]


class CatalogueItem(models.Model):
    """积分超市: what a community's members may take for their points, and how many are left."""

    community = models.ForeignKey(
        "grids.GridCell", on_delete=models.PROTECT, related_name="catalogue_items"
    )
    name = models.CharField(_("item"), max_length=100)
    points = models.PositiveIntegerField(_("points"))
    stock = models.PositiveIntegerField(_("in stock"), default=0)
    active = models.BooleanField(_("offered"), default=True)

    class Meta:
        verbose_name = _("catalogue item")
        verbose_name_plural = _("catalogue items")
        ordering = ["community", "points", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(stock__gte=0), name="timebank_stock_not_negative"),
        ]

    def __str__(self):
        return self.name


class Redemption(models.Model):
    """兑换: points taken from a member for items handed over; a retry with the same key is the
    same redemption."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="redemptions")
    item = models.ForeignKey(CatalogueItem, on_delete=models.PROTECT, related_name="redemptions")
    quantity = models.PositiveIntegerField(_("quantity"))
    points = models.PositiveIntegerField(_("points"))
    transfer = models.OneToOneField(Transfer, on_delete=models.PROTECT, related_name="redemption")
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("redemption")
        verbose_name_plural = _("redemptions")
        ordering = ["-created_at", "-id"]
