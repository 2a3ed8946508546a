"""The registry over JSON: residents of the caller's grid subtrees, masked, and the logged reveal
of a clear ID or phone number. Outside the caller's subtrees a resident answers 404."""

from datetime import date

from django.db.models import Q
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate

from wangge.accounts.permissions import Perm, has_perm
from wangge.lib.errors import PermissionDenied
from wangge.lib.masking import age_on, mask_id_number, mask_phone
from wangge.people import actions
from wangge.people.queries import get_resident_for, may_reveal, shown_tags, visible_residents

router = Router(tags=["registry"])


class TagOut(Schema):
    code: str
    name: str


class ResidentOut(Schema):
    id: int
    name: str
    gender: str
    age: int | None = Field(..., description="whole years today")
    birth_date: date | None = Field(
        ...,
        description="only for callers who may reveal this resident's personal data; null "
        "otherwise (beside the masked ID number it would narrow it down)",
    )
    id_number: str = Field(
        ..., description="masked: the first four digits, e.g. 4114**************"
    )
    phone: str = Field(..., description="masked: the last four digits, e.g. *******1234")
    grid: str
    address: str
    door: str
    tags: list[TagOut]

    @staticmethod
    def resolve_age(obj) -> int | None:
        return age_on(obj.birth_date, timezone.localdate())

    @staticmethod
    def resolve_birth_date(obj, context) -> date | None:
        return obj.birth_date if may_reveal(context["request"].auth, obj) else None

    @staticmethod
    def resolve_id_number(obj) -> str:
        return mask_id_number(obj.id_number)

    @staticmethod
    def resolve_phone(obj) -> str:
        return mask_phone(obj.phone)

    @staticmethod
    def resolve_grid(obj) -> str:
        return obj.household.cell.code

    @staticmethod
    def resolve_address(obj) -> str:
        return obj.household.address

    @staticmethod
    def resolve_door(obj) -> str:
        return obj.household.door

    @staticmethod
    def resolve_tags(obj, context) -> list:
        return shown_tags(context["request"].auth, obj)


class ResidentFilters(Schema):
    grid: str | None = Field(None, description="a grid code: that cell and everything under it")
    tag: str | None = Field(None, description="a tag code, e.g. living_alone")
    q: str | None = Field(None, max_length=50, description="part of a name")


class RevealIn(Schema):
    field: str = Field(..., description="id_number or phone")
    purpose: str = Field(..., max_length=500)


class RevealOut(Schema):
    field: str
    value: str


def _require(user, perm: Perm) -> None:
    if not has_perm(user, perm):
        raise PermissionDenied()


@router.get("", response=list[ResidentOut])
@paginate(PageNumberPagination, page_size=50)
def list_residents(request, filters: Query[ResidentFilters]):
    _require(request.auth, Perm.VIEW_RESIDENTS)
    residents = visible_residents(request.auth).filter(moved_out_at__isnull=True)
    if filters.grid:
        residents = residents.filter(household__cell__path__contains=f"/{filters.grid.strip()}/")
    if filters.tag:
        residents = residents.filter(tags__code=filters.tag.strip())
    if filters.q:
        residents = residents.filter(Q(name__contains=filters.q.strip()))
    return residents.prefetch_related("tags")


@router.get("/{resident_id}", response=ResidentOut)
def get_resident(request, resident_id: int):
    _require(request.auth, Perm.VIEW_RESIDENTS)
    return get_resident_for(request.auth, resident_id)


@router.post("/{resident_id}/reveal", response=RevealOut)
def reveal(request, resident_id: int, payload: RevealIn):
    """The clear number, for a stated purpose; the read is logged."""
    _require(request.auth, Perm.REVEAL_PERSONAL_DATA)
    resident = get_resident_for(request.auth, resident_id, Perm.REVEAL_PERSONAL_DATA)
    value = actions.reveal_resident_field(
        resident, field=payload.field, purpose=payload.purpose, actor=request.auth
    )
    return {"field": payload.field, "value": value}
