"""Community life over JSON (/api/v1/participation/…): the lists, needs raised from cases, match
suggestions and confirmations, service orders (点单 → 接单 → 完成 → 确认) and micro-wishes. Scoped
to the communities the caller works in; outside them an object answers 404 like a missing one.
"""

from datetime import datetime

from django.utils.translation import gettext_lazy as _
from ninja import Field, File, Form, Header, Query, Router, Schema, Status
from ninja.files import UploadedFile

from wangge.accounts.models import Unit
from wangge.accounts.permissions import Perm, has_perm
from wangge.cases.models import Category
from wangge.cases.queries import visible_cases
from wangge.lib.errors import InvalidInput, NotFound, PermissionDenied
from wangge.lib.masking import mask_name, mask_phone
from wangge.participation import actions
from wangge.participation.matching import suggest_offers
from wangge.participation.models import ItemKind, ListItem
from wangge.participation.queries import (
    community_of,
    get_item_for,
    get_managed_community,
    get_order_for,
    get_wish_for,
    managed_communities,
    visible_items,
    visible_orders,
    visible_wishes,
)

router = Router(tags=["participation"])


def _require(user, perm: Perm = Perm.MANAGE_COMMUNITY) -> None:
    if not has_perm(user, perm):
        raise PermissionDenied()


def _category(code: str | None) -> Category | None:
    if not code:
        return None
    category = Category.objects.filter(code=code, is_active=True).first()
    if category is None:
        raise InvalidInput(fields={"category": _("Unknown category.")})
    return category


def _unit(unit_id: int | None) -> Unit | None:
    if unit_id is None:
        return None
    unit = Unit.objects.filter(pk=unit_id, is_active=True).first()
    if unit is None:
        raise InvalidInput(fields={"unit_id": _("Unknown unit.")})
    return unit


# --- lists --------------------------------------------------------------------------------------


class ItemOut(Schema):
    id: int
    kind: str
    community: str
    title: str
    description: str
    category: str | None
    tags: list[str]
    provider_kind: str
    provider_name: str
    source: str
    case_ids: list[int]
    state: str
    created_at: datetime

    @staticmethod
    def resolve_community(obj) -> str:
        return obj.community.code

    @staticmethod
    def resolve_category(obj) -> str | None:
        return obj.category.code if obj.category else None

    @staticmethod
    def resolve_case_ids(obj) -> list[int]:
        return sorted(c.pk for c in obj.cases.all())


class ItemFilters(Schema):
    kind: str | None = Field(None, description="need, resource, project or service")
    state: str | None = Field(None, description="open, matched, done or withdrawn")
    community: str | None = Field(None, description="a community's code")


@router.get("/items", response=list[ItemOut])
def list_items(request, filters: Query[ItemFilters]):
    """The lists (清单) of the caller's communities, newest first."""
    _require(request.auth)
    items = visible_items(request.auth).prefetch_related("cases")
    for name in ("kind", "state"):
        if getattr(filters, name):
            items = items.filter(**{name: getattr(filters, name)})
    if filters.community:
        items = items.filter(community__code=filters.community)
    return list(items[:500])


class ItemIn(Schema):
    kind: str = Field(description="need, resource, project or service")
    community: str = Field(description="the community's code")
    title: str = Field(max_length=200)
    description: str = Field("", max_length=5000)
    category: str | None = None
    tags: list[str] = Field(default_factory=list, max_length=10)
    provider_kind: str = ""
    provider_name: str = Field("", max_length=100)
    provider_unit_id: int | None = None


@router.post("/items", response={201: ItemOut})
def add_item(request, payload: ItemIn):
    _require(request.auth)
    community = get_managed_community(request.auth, payload.community)
    if community.code != payload.community:
        raise NotFound()
    item = actions.add_item(
        kind=payload.kind,
        community=community,
        title=payload.title,
        description=payload.description,
        category=_category(payload.category),
        tags=payload.tags,
        provider_kind=payload.provider_kind,
        provider_name=payload.provider_name,
        provider_unit=_unit(payload.provider_unit_id),
        actor=request.auth,
    )
    return Status(201, item)


@router.get("/items/{item_id}", response=ItemOut)
def get_item(request, item_id: int):
    _require(request.auth)
    return get_item_for(request.auth, item_id)


class StepIn(Schema):
    step: str = Field(description="done, withdraw or reopen")
    reason: str = Field("", max_length=300)


@router.post("/items/{item_id}/state", response=ItemOut)
def set_item_state(request, item_id: int, payload: StepIn):
    _require(request.auth)
    item = get_item_for(request.auth, item_id)
    return actions.set_item_state(
        item, step=payload.step, actor=request.auth, reason=payload.reason
    )


class NeedFromCasesIn(Schema):
    case_ids: list[int] = Field(min_length=1, max_length=200)
    title: str = Field("", max_length=200)
    description: str = Field("", max_length=5000)
    hotspot_key: str = Field("", max_length=64)


@router.post("/needs/from-cases", response={201: ItemOut})
def need_from_cases(request, payload: NeedFromCasesIn):
    """A need raised from a recurring class of cases (a hotspot's members, or cases of one
    category in one grid); the cases stay linked to it."""
    _require(request.auth)
    cases = list(
        visible_cases(request.auth)
        .filter(pk__in=payload.case_ids)
        .select_related("cell", "category")
    )
    if len(cases) != len(set(payload.case_ids)):
        raise NotFound()
    managed = set(managed_communities(request.auth).values_list("pk", flat=True))
    for case in cases:
        community = community_of(case.cell)
        if community is not None and community.pk not in managed:
            raise NotFound()
    need = actions.raise_need_from_cases(
        cases,
        title=payload.title,
        description=payload.description,
        hotspot_key=payload.hotspot_key,
        actor=request.auth,
    )
    return Status(201, need)


# --- matching -----------------------------------------------------------------------------------


class SuggestionOut(Schema):
    offer_id: int
    kind: str
    title: str
    provider_name: str
    community: str
    score: float
    reason: str


@router.get("/items/{item_id}/suggestions", response=list[SuggestionOut])
def suggestions(request, item_id: int):
    """Resources, projects and services that may meet the need: its community's first, then
    its township's, with a score and the reason."""
    _require(request.auth)
    need = get_item_for(request.auth, item_id)
    if need.kind != ItemKind.NEED:
        raise InvalidInput(fields={"item_id": _("Only a need is matched.")})
    return [
        {
            "offer_id": s.offer.pk,
            "kind": s.offer.kind,
            "title": s.offer.title,
            "provider_name": s.offer.provider_name,
            "community": s.offer.community.code,
            "score": s.score,
            "reason": s.reason,
        }
        for s in suggest_offers(need)
    ]


class MatchIn(Schema):
    offer_id: int


class MatchOut(Schema):
    id: int
    need_id: int
    offer_id: int
    score: float
    reason: str
    confirmed_at: datetime


@router.post("/items/{item_id}/matches", response={201: MatchOut})
def confirm_match(request, item_id: int, payload: MatchIn):
    """The staff member confirms a match (usually one of the suggestions)."""
    _require(request.auth)
    need = get_item_for(request.auth, item_id)
    offer = ListItem.objects.select_related("community").filter(pk=payload.offer_id).first()
    if offer is None:
        raise InvalidInput(fields={"offer_id": _("Choose an open resource, project or service.")})
    found = next((s for s in suggest_offers(need, limit=50) if s.offer.pk == offer.pk), None)
    match = actions.confirm_match(
        need,
        offer,
        actor=request.auth,
        score=found.score if found else 0,
        reason=found.reason if found else "",
    )
    return Status(201, match)


# --- 点单 / 接单 ---------------------------------------------------------------------------------


class OrderStepOut(Schema):
    step: str
    actor_name: str
    at: datetime
    note: str


class OrderOut(Schema):
    id: int
    service_id: int
    service: str
    orderer_kind: str
    orderer_name: str
    orderer_phone: str
    note: str
    state: str
    steps: list[OrderStepOut]

    @staticmethod
    def resolve_service(obj) -> str:
        return obj.service.title

    @staticmethod
    def resolve_orderer_phone(obj) -> str:
        return mask_phone(obj.orderer_phone)

    @staticmethod
    def resolve_steps(obj) -> list:
        return list(obj.steps.all())


class OrderIn(Schema):
    service_id: int
    orderer_kind: str = Field("resident", description="resident or community")
    orderer_name: str = Field("", max_length=50)
    orderer_phone: str = Field("", max_length=20)
    note: str = Field("", max_length=2000)


@router.get("/orders", response=list[OrderOut])
def list_orders(request, state: str | None = None):
    """Orders of the caller's communities and of the services the caller provides."""
    orders = visible_orders(request.auth).prefetch_related("steps")
    if state:
        orders = orders.filter(state=state)
    return list(orders[:500])


@router.post("/orders", response={200: OrderOut, 201: OrderOut})
def place_order(
    request,
    payload: OrderIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=100),
):
    """点单 for a resident or the community; a retry with the same key answers 200 with the
    first order."""
    _require(request.auth)
    service = visible_items(request.auth).filter(pk=payload.service_id).first()
    if service is None:
        raise NotFound()
    order, created = actions.place_order(
        service,
        orderer_kind=payload.orderer_kind,
        orderer_name=payload.orderer_name,
        orderer_phone=payload.orderer_phone,
        note=payload.note,
        actor=request.auth,
        idempotency_key=idempotency_key,
    )
    return Status(201 if created else 200, order)


class OrderStepIn(Schema):
    note: str = Field("", max_length=300)


def _order_step(request, order_id: int, step: str, note: str = ""):
    order = get_order_for(request.auth, order_id)
    return actions.move_order(order, step, actor=request.auth, note=note)


@router.post("/orders/{order_id}/take", response=OrderOut)
def take_order(request, order_id: int):
    """接单 by the service's provider."""
    return _order_step(request, order_id, "take")


@router.post("/orders/{order_id}/done", response=OrderOut)
def finish_order(request, order_id: int, payload: OrderStepIn):
    """The provider has done it; the community confirms next."""
    return _order_step(request, order_id, "done", payload.note)


@router.post("/orders/{order_id}/confirm", response=OrderOut)
def confirm_order(request, order_id: int, payload: OrderStepIn):
    return _order_step(request, order_id, "confirm", payload.note)


@router.post("/orders/{order_id}/cancel", response=OrderOut)
def cancel_order(request, order_id: int, payload: OrderStepIn):
    return _order_step(request, order_id, "cancel", payload.note)


# --- 微心愿 --------------------------------------------------------------------------------------


class WishOut(Schema):
    id: int
    community: str
    title: str
    text: str
    wisher_name: str
    state: str
    claimant_kind: str
    claimant_name: str
    claimed_at: datetime | None
    fulfilled_at: datetime | None
    has_photo: bool
    has_fulfilment_photo: bool

    @staticmethod
    def resolve_community(obj) -> str:
        return obj.community.code

    @staticmethod
    def resolve_wisher_name(obj) -> str:
        return mask_name(obj.wisher_name)

    @staticmethod
    def resolve_has_photo(obj) -> bool:
        return bool(obj.photo)

    @staticmethod
    def resolve_has_fulfilment_photo(obj) -> bool:
        return bool(obj.fulfilment_photo)


@router.get("/wishes", response=list[WishOut])
def list_wishes(request, state: str | None = None, community: str | None = None):
    _require(request.auth)
    wishes = visible_wishes(request.auth)
    if state:
        wishes = wishes.filter(state=state)
    if community:
        wishes = wishes.filter(community__code=community)
    return list(wishes[:500])


class WishIn(Schema):
    community: str
    title: str = Field(max_length=100)
    text: str = Field("", max_length=1000)
    wisher_name: str = Field(max_length=50)
    wisher_phone: str = Field("", max_length=20)


@router.post("/wishes", response={200: WishOut, 201: WishOut})
def post_wish(
    request,
    payload: WishIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=100),
):
    """A wish posted by staff on a resident's behalf: open on the wall at once."""
    _require(request.auth)
    community = get_managed_community(request.auth, payload.community)
    if community.code != payload.community:
        raise NotFound()
    wish, created = actions.post_wish(
        community,
        title=payload.title,
        text=payload.text,
        wisher_name=payload.wisher_name,
        wisher_phone=payload.wisher_phone,
        actor=request.auth,
        idempotency_key=idempotency_key,
    )
    return Status(201 if created else 200, wish)


class ReviewIn(Schema):
    publish: bool
    reason: str = Field("", max_length=300)


@router.post("/wishes/{wish_id}/review", response=WishOut)
def review_wish(request, wish_id: int, payload: ReviewIn):
    """Publish a wish from the public form on the wall, or withdraw it."""
    _require(request.auth)
    wish = get_wish_for(request.auth, wish_id)
    return actions.review_wish(
        wish, publish=payload.publish, actor=request.auth, reason=payload.reason
    )


class ClaimIn(Schema):
    claimant_kind: str = Field(description="party_member or unit")
    claimant_name: str = Field("", max_length=100)
    unit_id: int | None = None


@router.post("/wishes/{wish_id}/claim", response=WishOut)
def claim_wish(request, wish_id: int, payload: ClaimIn):
    """认领: exactly one claimant; a second claim answers 409 naming the first."""
    _require(request.auth)
    wish = get_wish_for(request.auth, wish_id)
    return actions.claim_wish(
        wish,
        claimant_kind=payload.claimant_kind,
        claimant_name=payload.claimant_name,
        claimant_unit=_unit(payload.unit_id),
        actor=request.auth,
    )


@router.post("/wishes/{wish_id}/fulfil", response=WishOut)
def fulfil_wish(request, wish_id: int, photo: File[UploadedFile], note: Form[str] = ""):
    """Fulfilled, with a photo (multipart/form-data: photo, note)."""
    _require(request.auth)
    wish = get_wish_for(request.auth, wish_id)
    return actions.fulfil_wish(wish, photo=photo, note=note, actor=request.auth)
