"""Community life (社区参与): the four lists (需求清单, 资源清单, 项目清单, 服务清单), matches
between a need and what is on offer, service orders (点单 → 接单 → 完成 → 确认) and
micro-wishes (微心愿).

Every list item belongs to one community (a `GridCell` of level community). Moves that two people
may make at once (claiming a wish, taking an order) are compare-and-set UPDATEs on `version`, so
SQLite and PostgreSQL behave alike and exactly one of them wins.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from wangge.lib.crypto import EncryptedTextField


class ItemKind(models.TextChoices):
    NEED = "need", _("Need")  # 需求清单
    RESOURCE = "resource", _("Resource")  # 资源清单
    PROJECT = "project", _("Project")  # 项目清单
    SERVICE = "service", _("Service")  # 服务清单


OFFER_KINDS = (ItemKind.RESOURCE, ItemKind.PROJECT, ItemKind.SERVICE)


class ItemState(models.TextChoices):
    OPEN = "open", _("Open")
    MATCHED = "matched", _("Matched")
    DONE = "done", _("Done")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ProviderKind(models.TextChoices):
    RESIDENT = "resident", _("Resident")
    COMMUNITY = "community", _("Community")
    UNIT = "unit", _("Unit")
    PARTNER = "partner", _("Community partner (merchant)")  # 社区合伙人
    VOLUNTEER = "volunteer", _("Volunteer")


class NeedSource(models.TextChoices):
    RESIDENT = "resident", _("Raised by residents")
    CASES = "cases", _("Recurring cases")
    HOTSPOT = "hotspot", _("Hotspot")


class ListItem(models.Model):
    """One entry of a community's lists: a need, a resource, a project or a service."""

    kind = models.CharField(_("list"), max_length=10, choices=ItemKind.choices)
    community = models.ForeignKey(
        "grids.GridCell",
        on_delete=models.PROTECT,
        related_name="participation_items",
        verbose_name=_("community"),
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    category = models.ForeignKey(
        "cases.Category",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("category"),
    )
    # Free words (助老, 维修, 儿童) that matching compares; kept as a list of strings.
    tags = models.JSONField(_("tags"), default=list, blank=True)
    # Who offers it (resources, projects, services) or who asked (needs).
    provider_kind = models.CharField(
        _("provided by"), max_length=12, choices=ProviderKind.choices, blank=True
    )
    provider_name = models.CharField(_("provider"), max_length=100, blank=True)
    provider_unit = models.ForeignKey(
        "accounts.Unit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # A partner or volunteer with a login takes the orders of their service (接单).
    provider_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="participation_offers",
    )
    source = models.CharField(max_length=10, choices=NeedSource.choices, blank=True)
    hotspot_key = models.CharField(max_length=64, blank=True)
    cases = models.ManyToManyField("cases.Case", blank=True, related_name="participation_needs")
    state = models.CharField(
        _("state"), max_length=10, choices=ItemState.choices, default=ItemState.OPEN
    )
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("list item")
        verbose_name_plural = _("list items")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["community", "kind", "state"], name="part_item_list_idx")]

    def __str__(self):
        return self.title


class Match(models.Model):
    """A need met by a resource, project or service, as confirmed by a staff member."""

    need = models.ForeignKey(ListItem, on_delete=models.PROTECT, related_name="matches")
    offer = models.ForeignKey(ListItem, on_delete=models.PROTECT, related_name="matched_needs")
    score = models.FloatField(default=0)
    reason = models.CharField(max_length=300, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("match")
        verbose_name_plural = _("matches")
        constraints = [models.UniqueConstraint(fields=["need", "offer"], name="part_match_once")]


class OrderState(models.TextChoices):
    ORDERED = "ordered", _("Ordered")  # 点单
    TAKEN = "taken", _("Taken")  # 接单
    DONE = "done", _("Done, awaiting confirmation")
    CONFIRMED = "confirmed", _("Confirmed done")
    CANCELLED = "cancelled", _("Cancelled")


class OrdererKind(models.TextChoices):
    RESIDENT = "resident", _("Resident")
    COMMUNITY = "community", _("Community")


class ServiceOrder(models.Model):
    """点单: a resident or the community asks for a service; its provider takes it (接单)."""

    service = models.ForeignKey(ListItem, on_delete=models.PROTECT, related_name="orders")
    orderer_kind = models.CharField(max_length=10, choices=OrdererKind.choices)
    orderer_name = models.CharField(_("name"), max_length=50, blank=True)
    orderer_phone = EncryptedTextField(_("phone"), blank=True)
    note = models.TextField(_("note"), blank=True)
    state = models.CharField(max_length=10, choices=OrderState.choices, default=OrderState.ORDERED)
    version = models.PositiveIntegerField(default=1)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("service order")
        verbose_name_plural = _("service orders")
        ordering = ["-created_at", "-id"]


class OrderStep(models.Model):
    """Who moved an order, when: ordered, taken, done, confirmed, cancelled."""

    order = models.ForeignKey(ServiceOrder, on_delete=models.CASCADE, related_name="steps")
    step = models.CharField(max_length=10, choices=OrderState.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150)
    at = models.DateTimeField()
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [models.UniqueConstraint(fields=["order", "step"], name="part_step_once")]


class WishState(models.TextChoices):
    PENDING = "pending", _("Awaiting review")  # posted through the public form
    OPEN = "open", _("Open")
    CLAIMED = "claimed", _("Claimed")
    FULFILLED = "fulfilled", _("Fulfilled")
    WITHDRAWN = "withdrawn", _("Withdrawn")


PUBLIC_WISH_STATES = (WishState.OPEN, WishState.CLAIMED, WishState.FULFILLED)


class ClaimantKind(models.TextChoices):
    PARTY_MEMBER = "party_member", _("Party member")
    UNIT = "unit", _("Unit")


class MicroWish(models.Model):
    """微心愿: a resident's small wish, claimed by one party member or unit and fulfilled."""

    community = models.ForeignKey(
        "grids.GridCell", on_delete=models.PROTECT, related_name="micro_wishes"
    )
    title = models.CharField(_("wish"), max_length=100)
    text = models.TextField(_("details"), blank=True)
    photo = models.FileField(upload_to="participation/wishes/%Y/%m/", blank=True)
    wisher_name = models.CharField(_("name"), max_length=50)
    # Never shown: only for the community to reach the resident.
    wisher_phone = EncryptedTextField(_("phone"), blank=True)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    state = models.CharField(max_length=10, choices=WishState.choices, default=WishState.OPEN)
    version = models.PositiveIntegerField(default=1)
    claimant_kind = models.CharField(max_length=12, choices=ClaimantKind.choices, blank=True)
    claimant_name = models.CharField(_("claimed by"), max_length=100, blank=True)
    claimant_unit = models.ForeignKey(
        "accounts.Unit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    fulfilment_photo = models.FileField(upload_to="participation/wishes/%Y/%m/", blank=True)
    fulfilment_note = models.TextField(blank=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("micro-wish")
        verbose_name_plural = _("micro-wishes")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["community", "state"], name="part_wish_wall_idx")]

    def __str__(self):
        return self.title
