"""Every change in community life: list items and their states, needs raised from recurring
cases, confirmed matches, service orders (点单 → 接单 → 完成 → 确认) and micro-wishes (微心愿: post,
publish, claim, fulfil). Each is one transaction with its audit row.

Two people acting at once on the same order or wish are settled by a compare-and-set UPDATE on
`version` (no row locks, so SQLite and PostgreSQL behave alike): exactly one wins, the other is
told who was first. Posting a wish or placing an order with an Idempotency-Key creates it once.
"""

import re
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.accounts.models import Assignment, Unit
from wangge.audit.actions import record_audit
from wangge.cases.models import Case, Category
from wangge.grids.models import GridCell, GridLevel
from wangge.lib.errors import Conflict, InvalidInput, PermissionDenied
from wangge.lib.images import check_size, clean_image, sniff_image
from wangge.participation.models import (
    OFFER_KINDS,
    ClaimantKind,
    ItemKind,
    ItemState,
    ListItem,
    Match,
    MicroWish,
    NeedSource,
    OrdererKind,
    OrderState,
    OrderStep,
    ProviderKind,
    ServiceOrder,
    WishState,
)
from wangge.participation.queries import _community_q, community_of

PHONE = re.compile(r"^\+?[0-9][0-9 -]{5,18}[0-9]$")
MAX_TAGS = 10


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _clean(text: str | None, *, field: str, required: bool = False, limit: int = 0) -> str:
    text = (text or "").strip()
    if required and not text:
        raise InvalidInput(fields={field: _("This field is required.")})
    if limit and len(text) > limit:
        raise InvalidInput(fields={field: _("This text is too long.")})
    return text


def clean_tags(tags) -> list[str]:
    """Tags from a list or from text split at commas, 、 or spaces; unique, in order."""
    if isinstance(tags, str):
        tags = re.split(r"[,，、\s]+", tags)
    out: list[str] = []
    for tag in tags or []:
        tag = str(tag).strip()[:20]
        if tag and tag not in out:
            out.append(tag)
    return out[:MAX_TAGS]


def _check_photo(upload, *, field: str) -> None:
    check_size(upload)
    # By its first bytes: the browser's word is not taken for it.
    if sniff_image(upload) is None:
        raise InvalidInput(fields={field: _("Choose a photo (JPEG, PNG or WebP).")})


def _require_community(cell: GridCell) -> None:
    if cell is None or cell.level != GridLevel.COMMUNITY:
        raise InvalidInput(fields={"community": _("Choose a community.")})


def _manages(user, community: GridCell) -> bool:
    scope = _community_q(user, prefix="")
    return scope is not None and GridCell.objects.filter(scope, pk=community.pk).exists()


# --- the lists ----------------------------------------------------------------------------------


@transaction.atomic
def add_item(
    *,
    kind: str,
    community: GridCell,
    title: str,
    actor,
    description: str = "",
    category: Category | None = None,
    tags=(),
    provider_kind: str = "",
    provider_name: str = "",
    provider_unit: Unit | None = None,
    provider_user=None,
) -> ListItem:
    """Put a need, resource, project or service on a community's list."""
    if kind not in ItemKind.values:
        raise InvalidInput(fields={"kind": _("Choose one of the allowed values.")})
    _require_community(community)
    if provider_kind and provider_kind not in ProviderKind.values:
        raise InvalidInput(fields={"provider_kind": _("Choose one of the allowed values.")})
    if kind in OFFER_KINDS and not (provider_name.strip() or provider_unit or provider_user):
        raise InvalidInput(fields={"provider_name": _("Say who offers it.")})
    item = ListItem.objects.create(
        kind=kind,
        community=community,
        title=_clean(title, field="title", required=True, limit=200),
        description=_clean(description, field="description", limit=5000),
        category=category,
        tags=clean_tags(tags),
        provider_kind=provider_kind,
        provider_name=_clean(provider_name, field="provider_name", limit=100)
        or (str(provider_unit) if provider_unit else ""),
        provider_unit=provider_unit,
        provider_user=provider_user,
        source=NeedSource.RESIDENT if kind == ItemKind.NEED else "",
        created_by=actor,
    )
    record_audit(
        actor=actor, action="add_list_item", obj=item, detail={"kind": kind, "title": item.title}
    )
    return item


@transaction.atomic
def raise_need_from_cases(
    cases: list[Case], *, title: str, actor, description: str = "", hotspot_key: str = ""
) -> ListItem:
    """A recurring class of cases (a hotspot, or cases of one category in one grid) becomes one
    need of their community, linked to the cases, so it is met once for all of them."""
    cases = list(cases)
    if not cases:
        raise InvalidInput(fields={"case_ids": _("Choose the cases the need comes from.")})
    communities = {c.pk: c for c in (community_of(case.cell) for case in cases) if c}
    if len(communities) != 1 or any(community_of(case.cell) is None for case in cases):
        raise InvalidInput(fields={"case_ids": _("The cases must lie in one community.")})
    community = next(iter(communities.values()))
    counts: dict[int, int] = {}
    for case in cases:
        if case.category_id:
            counts[case.category_id] = counts.get(case.category_id, 0) + 1
    category_id = max(counts, key=lambda k: (counts[k], -k)) if counts else None
    title = _clean(title, field="title", limit=200) or cases[0].title
    need = ListItem.objects.create(
        kind=ItemKind.NEED,
        community=community,
        title=title,
        description=_clean(description, field="description", limit=5000)
        or "\n".join(f"{c.tracking_code} {c.title}" for c in cases[:20]),
        category_id=category_id,
        source=NeedSource.HOTSPOT if hotspot_key else NeedSource.CASES,
        hotspot_key=hotspot_key[:64],
        created_by=actor,
    )
    need.cases.set(cases)
    record_audit(
        actor=actor,
        action="raise_need_from_cases",
        obj=need,
        detail={"cases": [c.pk for c in cases], "hotspot": hotspot_key},
    )
    return need


ITEM_MOVES = {
    "done": ({ItemState.OPEN, ItemState.MATCHED}, ItemState.DONE),
    "withdraw": ({ItemState.OPEN, ItemState.MATCHED}, ItemState.WITHDRAWN),
    "reopen": ({ItemState.MATCHED, ItemState.DONE, ItemState.WITHDRAWN}, ItemState.OPEN),
}


def _move_item(item: ListItem, *, allowed, to: str) -> ListItem:
    if item.state not in allowed:
        raise Conflict(
            _("This is not possible while the item is “%(state)s”."),
            state=item.get_state_display(),
        )
    won = ListItem.objects.filter(pk=item.pk, version=item.version).update(
        state=to, version=F("version") + 1, updated_at=timezone.now()
    )
    if won != 1:
        raise Conflict()
    item.refresh_from_db()
    return item


@transaction.atomic
def set_item_state(item: ListItem, *, step: str, actor, reason: str = "") -> ListItem:
    """Mark an item done, withdraw it, or open it again."""
    if step not in ITEM_MOVES:
        raise InvalidInput(fields={"step": _("Choose one of the allowed values.")})
    allowed, to = ITEM_MOVES[step]
    before = item.state
    item = _move_item(item, allowed=allowed, to=to)
    record_audit(
        actor=actor,
        action=f"list_item_{step}",
        obj=item,
        detail={"before": before, "after": to},
        reason=reason,
    )
    return item


@transaction.atomic
def confirm_match(
    need: ListItem, offer: ListItem, *, actor, score: float = 0, reason: str = ""
) -> Match:
    """The staff member confirms that an offer meets the need: both are marked matched."""
    if need.kind != ItemKind.NEED:
        raise InvalidInput(fields={"need": _("Only a need is matched.")})
    if offer.kind not in OFFER_KINDS or offer.state not in (ItemState.OPEN, ItemState.MATCHED):
        raise InvalidInput(fields={"offer_id": _("Choose an open resource, project or service.")})
    township = need.community.path.rsplit("/", 2)[0] + "/"
    if not offer.community.path.startswith(township):
        raise InvalidInput(fields={"offer_id": _("The offer must be in the same township.")})
    existing = Match.objects.filter(need=need, offer=offer).first()
    if existing:
        return existing
    if need.state == ItemState.OPEN:
        _move_item(need, allowed={ItemState.OPEN}, to=ItemState.MATCHED)
    elif need.state != ItemState.MATCHED:
        raise Conflict(
            _("This is not possible while the item is “%(state)s”."),
            state=need.get_state_display(),
        )
    if offer.state == ItemState.OPEN:
        _move_item(offer, allowed={ItemState.OPEN}, to=ItemState.MATCHED)
    match = Match.objects.create(
        need=need,
        offer=offer,
        score=score,
        reason=reason[:300],
        confirmed_by=actor,
        confirmed_at=timezone.now(),
    )
    record_audit(
        actor=actor,
        action="confirm_match",
        obj=match,
        detail={"need": need.pk, "offer": offer.pk, "score": score},
    )
    return match


# --- 点单 / 接单 ---------------------------------------------------------------------------------


def _step(order: ServiceOrder, step: str, *, actor, at: datetime, note: str = "") -> None:
    OrderStep.objects.create(
        order=order,
        step=step,
        actor=actor if actor and actor.pk else None,
        actor_name=str(actor) if actor else _("Resident (public form)"),
        at=at,
        note=note[:300],
    )


@transaction.atomic
def place_order(
    service: ListItem,
    *,
    orderer_kind: str,
    actor,
    orderer_name: str = "",
    orderer_phone: str = "",
    note: str = "",
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> tuple[ServiceOrder, bool]:
    """点单: a resident (in person, or through staff) or the community orders a service. A
    retry with the same Idempotency-Key returns the first order; returns (order, created)."""
    if idempotency_key and (seen := ServiceOrder.objects.filter(idempotency_key=idempotency_key)):
        return seen.get(), False
    if service.kind != ItemKind.SERVICE or service.state not in (
        ItemState.OPEN,
        ItemState.MATCHED,
    ):
        raise InvalidInput(fields={"service_id": _("This service is not on offer.")})
    if orderer_kind not in OrdererKind.values:
        raise InvalidInput(fields={"orderer_kind": _("Choose one of the allowed values.")})
    phone = re.sub(r"[ -]", "", _clean(orderer_phone, field="orderer_phone", limit=20))
    if phone and not PHONE.match(phone):
        raise InvalidInput(fields={"orderer_phone": _("Enter a phone number.")})
    if orderer_kind == OrdererKind.RESIDENT and not orderer_name.strip():
        raise InvalidInput(fields={"orderer_name": _("This field is required.")})
    at = _now(now)
    try:
        with transaction.atomic():  # a savepoint: a concurrent retry may win the key
            order = ServiceOrder.objects.create(
                service=service,
                orderer_kind=orderer_kind,
                orderer_name=_clean(orderer_name, field="orderer_name", limit=50)
                or str(service.community),
                orderer_phone=phone,
                note=_clean(note, field="note", limit=2000),
                idempotency_key=idempotency_key or None,
            )
    except IntegrityError:
        seen = ServiceOrder.objects.filter(idempotency_key=idempotency_key).first()
        if seen is None:
            raise
        return seen, False
    _step(order, OrderState.ORDERED, actor=actor, at=at, note=order.note)
    record_audit(actor=actor, action="place_order", obj=order, detail={"service": service.pk})
    return order, True


def may_take(user, order: ServiceOrder) -> bool:
    """The service's provider: its user, staff of its unit, or the community's own staff (who
    record it for a provider without a login)."""
    service = order.service
    if not user or not user.is_authenticated:
        return False
    if service.provider_user_id == user.pk:
        return True
    if (
        service.provider_unit_id
        and Assignment.objects.filter(
            user=user, unit_id=service.provider_unit_id, is_active=True
        ).exists()
    ):
        return True
    return _manages(user, service.community)


ORDER_MOVES = {
    "take": (OrderState.ORDERED, OrderState.TAKEN),
    "done": (OrderState.TAKEN, OrderState.DONE),
    "confirm": (OrderState.DONE, OrderState.CONFIRMED),
    "cancel": (OrderState.ORDERED, OrderState.CANCELLED),
}


@transaction.atomic
def move_order(
    order: ServiceOrder, step: str, *, actor, note: str = "", now: datetime | None = None
) -> ServiceOrder:
    """接单 (take), 完成 (done), 确认 (confirm) or cancel. Asked again after it happened (a retry),
    the order is returned unchanged; of two providers taking it at once, one wins."""
    if step not in ORDER_MOVES:
        raise InvalidInput(fields={"step": _("Choose one of the allowed values.")})
    before, to = ORDER_MOVES[step]
    if step in ("take", "done") and not may_take(actor, order):
        raise PermissionDenied(_("Only the provider of this service can do this."))
    if step in ("confirm", "cancel") and not _manages(actor, order.service.community):
        raise PermissionDenied()
    done_step = order.steps.filter(step=to).select_related("actor").first()
    if done_step is not None:
        if step == "take" and done_step.actor_id != getattr(actor, "pk", None):
            raise Conflict(_("%(name)s has already taken this order."), name=done_step.actor_name)
        return order  # a retry of a step that already happened
    if order.state != before:
        raise Conflict(
            _("This is not possible while the order is “%(state)s”."),
            state=order.get_state_display(),
        )
    fields = {"taken_by": actor} if step == "take" else {}
    won = ServiceOrder.objects.filter(pk=order.pk, version=order.version, state=before).update(
        state=to, version=F("version") + 1, **fields
    )
    if won != 1:
        order.refresh_from_db()
        first = order.steps.filter(step=to).first()
        if step == "take" and first is not None:
            raise Conflict(_("%(name)s has already taken this order."), name=first.actor_name)
        raise Conflict()
    _step(order, to, actor=actor, at=_now(now), note=note)
    record_audit(actor=actor, action=f"order_{step}", obj=order, detail={"after": to})
    order.refresh_from_db()
    return order


# --- 微心愿 --------------------------------------------------------------------------------------


@transaction.atomic
def post_wish(
    community: GridCell,
    *,
    title: str,
    wisher_name: str,
    actor,
    text: str = "",
    wisher_phone: str = "",
    photo=None,
    idempotency_key: str | None = None,
) -> tuple[MicroWish, bool]:
    """A resident's micro-wish: posted by staff on their behalf (open at once), or by the
    resident through the public form (awaits the community's review before the wall shows it).
    The phone is stored encrypted and never shown. Returns (wish, created)."""
    if idempotency_key and (seen := MicroWish.objects.filter(idempotency_key=idempotency_key)):
        return seen.get(), False
    _require_community(community)
    title = _clean(title, field="title", required=True, limit=100)
    name = _clean(wisher_name, field="wisher_name", required=True, limit=50)
    phone = re.sub(r"[ -]", "", (wisher_phone or "").strip())
    public = actor is None
    if public and not phone:
        raise InvalidInput(fields={"wisher_phone": _("Leave a phone number so we can reach you.")})
    if phone and not PHONE.match(phone):
        raise InvalidInput(fields={"wisher_phone": _("Enter a phone number.")})
    if photo:
        _check_photo(photo, field="photo")
        photo = clean_image(photo, field="photo")  # the wall is public: pixels only
    try:
        with transaction.atomic():
            wish = MicroWish.objects.create(
                community=community,
                title=title,
                text=_clean(text, field="text", limit=1000),
                photo=photo or "",
                wisher_name=name,
                wisher_phone=phone,
                posted_by=actor,
                state=WishState.PENDING if public else WishState.OPEN,
                idempotency_key=idempotency_key or None,
            )
    except IntegrityError:
        seen = MicroWish.objects.filter(idempotency_key=idempotency_key).first()
        if seen is None:
            raise
        return seen, False
    record_audit(
        actor=actor,
        action="post_wish",
        obj=wish,
        detail={"community": community.code, "public_form": public},
    )
    return wish, True


def _move_wish(wish: MicroWish, *, before, to, **fields) -> int:
    return MicroWish.objects.filter(pk=wish.pk, state__in=before, version=wish.version).update(
        state=to, version=F("version") + 1, **fields
    )


@transaction.atomic
def review_wish(wish: MicroWish, *, publish: bool, actor, reason: str = "") -> MicroWish:
    """A wish from the public form goes on the wall, or is withdrawn (not a wish, a duplicate).
    Staff may also withdraw an open wish."""
    before = [WishState.PENDING] if publish else [WishState.PENDING, WishState.OPEN]
    to = WishState.OPEN if publish else WishState.WITHDRAWN
    if _move_wish(wish, before=before, to=to) != 1:
        wish.refresh_from_db()
        raise Conflict(
            _("This is not possible while the wish is “%(state)s”."),
            state=wish.get_state_display(),
        )
    record_audit(
        actor=actor, action="publish_wish" if publish else "withdraw_wish", obj=wish, reason=reason
    )
    wish.refresh_from_db()
    return wish


@transaction.atomic
def claim_wish(
    wish: MicroWish,
    *,
    claimant_kind: str,
    actor,
    claimant_name: str = "",
    claimant_unit: Unit | None = None,
    now: datetime | None = None,
) -> MicroWish:
    """认领: a party member or a unit takes on the wish. Exactly one claimant: the UPDATE only
    succeeds while the wish is still open, so of two claims at once the second is refused."""
    if claimant_kind not in ClaimantKind.values:
        raise InvalidInput(fields={"claimant_kind": _("Choose one of the allowed values.")})
    name = _clean(claimant_name, field="claimant_name", limit=100)
    if claimant_kind == ClaimantKind.UNIT and claimant_unit is not None:
        name = name or claimant_unit.name
    if not name:
        raise InvalidInput(fields={"claimant_name": _("Say who claims the wish.")})
    won = MicroWish.objects.filter(pk=wish.pk, state=WishState.OPEN).update(
        state=WishState.CLAIMED,
        version=F("version") + 1,
        claimant_kind=claimant_kind,
        claimant_name=name,
        claimant_unit=claimant_unit,
        claimed_by=actor,
        claimed_at=_now(now),
    )
    wish.refresh_from_db()
    if won != 1:
        if wish.state in (WishState.CLAIMED, WishState.FULFILLED):
            raise Conflict(
                _("This wish has already been claimed by %(name)s."), name=wish.claimant_name
            )
        raise Conflict(
            _("This wish cannot be claimed while it is “%(state)s”."),
            state=wish.get_state_display(),
        )
    record_audit(
        actor=actor,
        action="claim_wish",
        obj=wish,
        detail={"claimant_kind": claimant_kind, "claimant": name},
    )
    return wish


@transaction.atomic
def fulfil_wish(
    wish: MicroWish, *, photo, actor, note: str = "", now: datetime | None = None
) -> MicroWish:
    """圆梦: the claimant has fulfilled the wish; a photo shows it."""
    if not photo:
        raise InvalidInput(fields={"photo": _("Add a photo of the fulfilled wish.")})
    _check_photo(photo, field="photo")
    if wish.state != WishState.CLAIMED:
        raise Conflict(
            _("This is not possible while the wish is “%(state)s”."),
            state=wish.get_state_display(),
        )
    photo = clean_image(photo, field="photo")  # the wall is public: pixels only
    wish.fulfilment_photo.save(photo.name[-80:], photo, save=False)
    won = _move_wish(
        wish,
        before=[WishState.CLAIMED],
        to=WishState.FULFILLED,
        fulfilment_photo=wish.fulfilment_photo.name,
        fulfilment_note=_clean(note, field="note", limit=1000),
        fulfilled_at=_now(now),
    )
    if won != 1:
        raise Conflict()
    record_audit(actor=actor, action="fulfil_wish", obj=wish)
    wish.refresh_from_db()
    return wish
