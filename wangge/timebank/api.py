"""The time bank and the points supermarket over JSON (/api/v1/timebank/…): accounts and
statements, members, help between members and corrections, volunteer tasks and their
confirmation, points rules and claims with their approval, the catalogue, and redemptions (a
retry with the same Idempotency-Key is done once). Everything is scoped to the communities the
caller keeps (MANAGE_COMMUNITY); outside them an object answers 404 like a missing one."""

from datetime import date, datetime
from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from ninja import Field, Header, Query, Router, Schema, Status

from wangge.accounts.permissions import Perm, has_perm
from wangge.cases.queries import visible_cases
from wangge.lib.errors import InvalidInput, NotFound, PermissionDenied
from wangge.lib.masking import mask_phone
from wangge.people.queries import visible_residents
from wangge.timebank import actions, queries
from wangge.timebank.models import Ledger, Period

router = Router(tags=["timebank"])
PERM = Perm.MANAGE_COMMUNITY


def _require(user) -> None:
    if not has_perm(user, PERM):
        raise PermissionDenied()


def _community(user, code: str | None):
    _require(user)
    communities = queries.visible_communities(user).order_by("path")
    cell = communities.filter(code=code).first() if code else communities.first()
    if cell is None:
        raise NotFound(_("Community not found."))
    return cell


class CommunityFilter(Schema):
    community: str | None = Field(None, description="community code; your first one if omitted")


# --- accounts and statements -------------------------------------------------------------------


class AccountOut(Schema):
    id: int
    community: str
    ledger: str
    kind: str
    member_id: int | None
    member: str
    balance: Decimal
    flagged: bool
    flag_reason: str

    @staticmethod
    def resolve_community(obj) -> str:
        return obj.community.code

    @staticmethod
    def resolve_member(obj) -> str:
        return obj.member.name if obj.member_id else ""


class AccountFilters(CommunityFilter):
    ledger: str | None = Field(None, description="hours or points")
    flagged: bool | None = None


@router.get("/accounts", response=list[AccountOut])
def list_accounts(request, filters: Query[AccountFilters]):
    """Accounts of a community with their balances; flagged ones are beyond the limits."""
    community = _community(request.auth, filters.community)
    accounts = queries.visible_accounts(request.auth).filter(community=community)
    if filters.ledger:
        accounts = accounts.filter(ledger=filters.ledger)
    if filters.flagged is not None:
        accounts = accounts.filter(flagged=filters.flagged)
    return list(accounts.order_by("ledger", "kind", "member__name", "id")[:1000])


class StatementRowOut(Schema):
    booked_at: datetime
    transfer_id: int
    kind: str
    memo: str
    amount: Decimal
    balance: Decimal
    corrects_id: int | None


class StatementOut(Schema):
    account: AccountOut
    start: date | None
    end: date | None
    opening: Decimal
    rows: list[StatementRowOut]
    closing: Decimal


class PeriodFilter(Schema):
    start: date | None = None
    end: date | None = None


@router.get("/accounts/{account_id}/statement", response=StatementOut)
def account_statement(request, account_id: int, period: Query[PeriodFilter]):
    """Movements of the account in the period (both days included), each with the balance
    after it."""
    _require(request.auth)
    account = queries.get_or_404(queries.visible_accounts(request.auth), account_id)
    if period.start and period.end and period.end < period.start:
        raise InvalidInput(fields={"end": _("The end is before the start.")})
    return queries.statement(account, start=period.start, end=period.end)


# --- members --------------------------------------------------------------------------------


class MemberIn(Schema):
    community: str | None = None
    name: str = Field("", max_length=50)
    phone: str = Field("", max_length=20)
    resident_id: int | None = None


class MemberOut(Schema):
    id: int
    community: str
    name: str
    phone: str
    resident_id: int | None
    user_id: int | None
    hours: Decimal
    points: Decimal

    @staticmethod
    def resolve_community(obj) -> str:
        return obj.community.code

    @staticmethod
    def resolve_phone(obj) -> str:
        return mask_phone(obj.phone)

    @staticmethod
    def resolve_hours(obj) -> Decimal:
        return next(a.balance for a in obj.accounts.all() if a.ledger == Ledger.HOURS)

    @staticmethod
    def resolve_points(obj) -> Decimal:
        return next(a.balance for a in obj.accounts.all() if a.ledger == Ledger.POINTS)


@router.get("/members", response=list[MemberOut])
def list_members(request, filters: Query[CommunityFilter]):
    community = _community(request.auth, filters.community)
    members = queries.visible_members(request.auth).filter(community=community)
    return list(members.prefetch_related("accounts")[:1000])


@router.post("/members", response={201: MemberOut})
def enrol_member(request, payload: MemberIn):
    """Open a member's accounts; a resident of the registry is named by id (in your grids)."""
    community = _community(request.auth, payload.community)
    resident = None
    if payload.resident_id is not None:
        resident = queries.get_or_404(visible_residents(request.auth), payload.resident_id)
    member = actions.enrol_member(
        community, name=payload.name, phone=payload.phone, resident=resident, actor=request.auth
    )
    return Status(201, member)


# --- transfers ------------------------------------------------------------------------------


class TransferOut(Schema):
    id: int
    ledger: str
    kind: str
    memo: str
    created_at: datetime
    corrects_id: int | None
    movements: list[dict]

    @staticmethod
    def resolve_movements(obj) -> list[dict]:
        return [{"account_id": m.account_id, "amount": m.amount} for m in obj.movements.all()]


class ExchangeIn(Schema):
    payer_id: int = Field(..., description="the member who was helped")
    payee_id: int = Field(..., description="the member who helped")
    hours: Decimal = Field(..., gt=0, max_digits=6, decimal_places=2)
    memo: str = Field("", max_length=200)


@router.post("/transfers", response={201: TransferOut})
def exchange(request, payload: ExchangeIn):
    """互助: hours from the member helped to the member who helped."""
    _require(request.auth)
    members = queries.visible_members(request.auth)
    payer = queries.get_or_404(members, payload.payer_id)
    payee = queries.get_or_404(members, payload.payee_id)
    transfer = actions.exchange_hours(
        payer, payee, hours=payload.hours, memo=payload.memo, actor=request.auth
    )
    return Status(201, transfer)


class CorrectionIn(Schema):
    reason: str = Field(..., min_length=1, max_length=200)


@router.post("/transfers/{transfer_id}/correct", response={201: TransferOut})
def correct(request, transfer_id: int, payload: CorrectionIn):
    """更正: a new transfer reversing this one; the original stays as it was."""
    _require(request.auth)
    original = queries.get_or_404(queries.visible_transfers(request.auth), transfer_id)
    return Status(
        201, actions.correct_transfer(original, reason=payload.reason, actor=request.auth)
    )


# --- volunteer tasks -------------------------------------------------------------------------


class TaskIn(Schema):
    community: str | None = None
    title: str = Field(..., min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    hours: Decimal = Field(..., gt=0, max_digits=6, decimal_places=2)
    case_id: int | None = None
    volunteer_ids: list[int] = []


class TaskOut(Schema):
    id: int
    community: str
    title: str
    hours: Decimal
    case_id: int | None
    organiser_id: int
    state: str
    confirmed_at: datetime | None
    transfer_id: int | None
    volunteer_ids: list[int]

    @staticmethod
    def resolve_community(obj) -> str:
        return obj.community.code

    @staticmethod
    def resolve_volunteer_ids(obj) -> list[int]:
        return [v.member_id for v in obj.volunteers.all()]


@router.get("/tasks", response=list[TaskOut])
def list_tasks(request, filters: Query[CommunityFilter], state: str | None = None):
    community = _community(request.auth, filters.community)
    tasks = queries.visible_tasks(request.auth).filter(community=community)
    if state:
        tasks = tasks.filter(state=state)
    return list(tasks.prefetch_related("volunteers")[:500])


@router.post("/tasks", response={201: TaskOut})
def create_task(request, payload: TaskIn):
    """志愿服务: you organise it; the volunteers' hours are credited when you confirm it."""
    community = _community(request.auth, payload.community)
    case = None
    if payload.case_id is not None:
        case = queries.get_or_404(visible_cases(request.auth), payload.case_id)
    members = queries.visible_members(request.auth)
    volunteers = [queries.get_or_404(members, pk) for pk in payload.volunteer_ids]
    task = actions.create_task(
        community,
        title=payload.title,
        description=payload.description,
        hours=payload.hours,
        case=case,
        organiser=request.auth,
        volunteers=volunteers,
    )
    return Status(201, task)


class VolunteerIn(Schema):
    member_id: int


@router.post("/tasks/{task_id}/volunteers", response=TaskOut)
def add_volunteer(request, task_id: int, payload: VolunteerIn):
    _require(request.auth)
    task = queries.get_or_404(queries.visible_tasks(request.auth), task_id)
    member = queries.get_or_404(queries.visible_members(request.auth), payload.member_id)
    actions.add_volunteer(task, member, actor=request.auth)
    return task


@router.post("/tasks/{task_id}/confirm", response=TaskOut)
def confirm_task(request, task_id: int):
    """确认完成 (the organiser only): each volunteer is credited the hours, once."""
    _require(request.auth)
    task = queries.get_or_404(queries.visible_tasks(request.auth), task_id)
    return actions.confirm_task(task, actor=request.auth)


# --- points rules and claims -----------------------------------------------------------------


class RuleIn(Schema):
    community: str | None = None
    name: str = Field(..., min_length=1, max_length=100)
    points: int = Field(..., gt=0)
    cap: int | None = Field(None, gt=0)
    period: str = Field(Period.MONTH, description=", ".join(Period.values))


class RuleOut(Schema):
    id: int
    name: str
    points: int
    cap: int | None
    period: str
    active: bool


@router.get("/rules", response=list[RuleOut])
def list_rules(request, filters: Query[CommunityFilter]):
    community = _community(request.auth, filters.community)
    return list(community.points_rules.filter(active=True))


@router.post("/rules", response={201: RuleOut})
def create_rule(request, payload: RuleIn):
    community = _community(request.auth, payload.community)
    rule = actions.create_rule(
        community,
        name=payload.name,
        points=payload.points,
        cap=payload.cap,
        period=payload.period,
        actor=request.auth,
    )
    return Status(201, rule)


class ClaimIn(Schema):
    member_id: int
    rule_id: int
    done_on: date
    note: str = Field("", max_length=200)


class ClaimOut(Schema):
    id: int
    member_id: int
    member: str
    rule_id: int
    done_on: date
    note: str
    state: str
    points: int
    reason: str
    decided_at: datetime | None

    @staticmethod
    def resolve_member(obj) -> str:
        return obj.member.name


class ClaimFilters(CommunityFilter):
    state: str | None = None


@router.get("/claims", response=list[ClaimOut])
def list_claims(request, filters: Query[ClaimFilters]):
    community = _community(request.auth, filters.community)
    claims = queries.visible_claims(request.auth).filter(member__community=community)
    if filters.state:
        claims = claims.filter(state=filters.state)
    return list(claims[:500])


@router.post("/claims", response={201: ClaimOut})
def claim_points(request, payload: ClaimIn):
    """申报积分 for a member; it waits for approval."""
    _require(request.auth)
    member = queries.get_or_404(queries.visible_members(request.auth), payload.member_id)
    rule = member.community.points_rules.filter(pk=payload.rule_id).first()
    if rule is None:
        raise NotFound()
    claim = actions.claim_points(
        member, rule, done_on=payload.done_on, note=payload.note, actor=request.auth
    )
    return Status(201, claim)


@router.post("/claims/{claim_id}/approve", response=ClaimOut)
def approve_claim(request, claim_id: int):
    """审核通过, once; the points are what the rule's cap leaves for the period."""
    _require(request.auth)
    claim = queries.get_or_404(queries.visible_claims(request.auth), claim_id)
    return actions.approve_claim(claim, actor=request.auth)


class RejectIn(Schema):
    reason: str = Field(..., min_length=1, max_length=200)


@router.post("/claims/{claim_id}/reject", response=ClaimOut)
def reject_claim(request, claim_id: int, payload: RejectIn):
    _require(request.auth)
    claim = queries.get_or_404(queries.visible_claims(request.auth), claim_id)
    return actions.reject_claim(claim, actor=request.auth, reason=payload.reason)


class ConvertIn(Schema):
    hours: Decimal = Field(..., gt=0, max_digits=6, decimal_places=2)


@router.post("/members/{member_id}/convert", response={201: list[TransferOut]})
def convert(request, member_id: int, payload: ConvertIn):
    """时间兑积分 at the community's rate: a transfer in each ledger, together."""
    _require(request.auth)
    member = queries.get_or_404(queries.visible_members(request.auth), member_id)
    return Status(201, list(actions.convert_hours(member, hours=payload.hours, actor=request.auth)))


# --- the points supermarket ------------------------------------------------------------------


class ItemIn(Schema):
    community: str | None = None
    name: str = Field(..., min_length=1, max_length=100)
    points: int = Field(..., gt=0)
    stock: int = Field(..., ge=0)


class ItemOut(Schema):
    id: int
    name: str
    points: int
    stock: int
    active: bool


@router.get("/catalogue", response=list[ItemOut])
def catalogue(request, filters: Query[CommunityFilter]):
    community = _community(request.auth, filters.community)
    return list(queries.visible_items(request.auth).filter(community=community, active=True))


@router.post("/catalogue", response={201: ItemOut})
def add_item(request, payload: ItemIn):
    community = _community(request.auth, payload.community)
    item = actions.add_item(
        community, name=payload.name, points=payload.points, stock=payload.stock, actor=request.auth
    )
    return Status(201, item)


class RedeemIn(Schema):
    member_id: int
    item_id: int
    quantity: int = Field(1, gt=0, le=100)


class RedemptionOut(Schema):
    id: int
    member_id: int
    item_id: int
    quantity: int
    points: int
    transfer_id: int
    created_at: datetime


@router.post("/redemptions", response={200: RedemptionOut, 201: RedemptionOut})
def redeem(
    request,
    payload: RedeemIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=100),
):
    """兑换: never more than the stock or the member's points; a retry with the same
    Idempotency-Key answers 200 with the first redemption."""
    _require(request.auth)
    member = queries.get_or_404(queries.visible_members(request.auth), payload.member_id)
    item = queries.get_or_404(queries.visible_items(request.auth), payload.item_id)
    redemption, created = actions.redeem(
        member,
        item,
        quantity=payload.quantity,
        actor=request.auth,
        idempotency_key=idempotency_key,
    )
    return Status(201 if created else 200, redemption)
