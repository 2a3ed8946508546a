"""四议两公开, 小院议事厅 and 党务村务财务公开 over JSON, for the villages the caller may manage
(`Perm.MANAGE_COMMUNITY`; others answer 404). Every write names the `version` it read: of two
clerks recording the same step, one gets 200 and the other 409 `changed_meanwhile`."""

from datetime import date, datetime
from decimal import Decimal

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from wangge.accounts.permissions import Perm
from wangge.cases.queries import visible_cases
from wangge.deliberation import actions, queries
from wangge.grids.models import GridCell
from wangge.lib.errors import InvalidInput

router = Router(tags=["deliberation"])


class VillageFilter(Schema):
    village: str | None = Field(None, description="a village's code; all in scope when empty")


class StepOut(Schema):
    id: int
    kind: str
    body: str
    held_on: date
    expected: int | None
    present: int | None
    votes_for: int | None
    votes_against: int | None
    votes_abstain: int | None
    passed: bool | None
    minutes: str
    public_text: str
    recorded_by: str = Field(..., alias="recorded_by_name")
    recorded_at: datetime


class MatterOut(Schema):
    id: int
    village: str
    title: str
    summary: str
    state: str
    version: int
    round: int
    previous_id: int | None
    next_step: str | None
    steps: list[StepOut]

    @staticmethod
    def resolve_village(obj) -> str:
        return obj.village.code

    @staticmethod
    def resolve_steps(obj) -> list:
        return list(obj.steps.all())


class MatterIn(Schema):
    village: str
    title: str = Field(..., max_length=200)
    summary: str = ""


class StepIn(Schema):
    kind: str = Field(..., description="the matter's next step, e.g. propose")
    version: int = Field(..., description="the matter's version as read")
    held_on: date
    body: str = Field(
        "", description="for resolve: representatives_meeting (default) or villagers_meeting"
    )
    expected: int | None = None
    present: int | None = None
    votes_for: int | None = None
    votes_against: int | None = None
    votes_abstain: int | None = None
    minutes: str = ""
    public_text: str = ""


class MeetingOut(Schema):
    id: int
    cell: str
    held_on: date
    topic: str
    participant_count: int
    participant_names: str
    outcome: str
    follow_up: str
    case: str | None
    version: int

    @staticmethod
    def resolve_cell(obj) -> str:
        return obj.cell.code

    @staticmethod
    def resolve_case(obj) -> str | None:
        return obj.case.tracking_code if obj.case else None


class MeetingIn(Schema):
    cell: str = Field(..., description="a village's code or a grid inside it")
    held_on: date
    topic: str = Field(..., max_length=200)
    participant_count: int
    participant_names: str = ""
    outcome: str
    follow_up: str = ""
    case: str = Field("", description="tracking code of the follow-up case")


class FollowUpIn(Schema):
    version: int
    follow_up: str = ""
    case: str = ""


class LineIO(Schema):
    direction: str = Field(..., description="income or expense")
    label: str
    amount: Decimal


class DisclosureIn(Schema):
    kind: str = Field(..., description="party, village or finance")
    period: str = Field(..., description="2025, 2025-H1, 2025-Q1 or 2025-03")
    title: str = Field(..., max_length=200)
    body: str = ""
    opening_balance: Decimal | None = None
    total_income: Decimal | None = None
    total_expense: Decimal | None = None
    closing_balance: Decimal | None = None
    lines: list[LineIO] = []


class DisclosureCreate(DisclosureIn):
    village: str


class DisclosureUpdate(DisclosureIn):
    version: int


class VersionIn(Schema):
    version: int


class DisclosureOut(Schema):
    id: int
    village: str
    kind: str
    period: str
    title: str
    body: str
    opening_balance: Decimal | None
    total_income: Decimal | None
    total_expense: Decimal | None
    closing_balance: Decimal | None
    lines: list[LineIO]
    supersedes_id: int | None
    version: int
    published_at: datetime | None
    published_by: str = Field(..., alias="published_by_name")

    @staticmethod
    def resolve_village(obj) -> str:
        return obj.village.code

    @staticmethod
    def resolve_lines(obj) -> list:
        return list(obj.lines.all())


def _in_village(user, filters: VillageFilter):
    if filters.village:
        return queries.get_village_for(user, filters.village)
    queries.require_manage(user)
    return None


def _case(user, code: str):
    code = (code or "").strip().upper()
    if not code:
        return None
    case = visible_cases(user, Perm.VIEW_CASE).filter(tracking_code=code).first()
    if case is None:
        raise InvalidInput(fields={"case": _("No case with this tracking code in your scope.")})
    return case


@router.get("/matters", response=list[MatterOut])
def list_matters(request, filters: Query[VillageFilter]):
    village = _in_village(request.auth, filters)
    matters = queries.visible_matters(request.auth).prefetch_related("steps")
    if village is not None:
        matters = matters.filter(village=village)
    return matters[:200]


@router.post("/matters", response={201: MatterOut})
def create_matter(request, payload: MatterIn):
    village = queries.get_village_for(request.auth, payload.village)
    matter = actions.create_matter(
        village, title=payload.title, summary=payload.summary, actor=request.auth
    )
    return Status(201, queries.get_matter_for(request.auth, matter.pk))


@router.get("/matters/{matter_id}", response=MatterOut)
def get_matter(request, matter_id: int):
    return queries.get_matter_for(request.auth, matter_id)


@router.post("/matters/{matter_id}/steps", response=MatterOut)
def record_step(request, matter_id: int, payload: StepIn):
    """Record the matter's next step; out of order, repeated or stale answers 409."""
    matter = queries.get_matter_for(request.auth, matter_id)
    actions.record_step(matter, actor=request.auth, **payload.dict())
    return queries.get_matter_for(request.auth, matter_id)


@router.post("/matters/{matter_id}/repropose", response={201: MatterOut})
def repropose(request, matter_id: int):
    matter = queries.get_matter_for(request.auth, matter_id)
    new = actions.repropose_matter(matter, actor=request.auth)
    return Status(201, queries.get_matter_for(request.auth, new.pk))


@router.get("/meetings", response=list[MeetingOut])
def list_meetings(request, filters: Query[VillageFilter]):
    village = _in_village(request.auth, filters)
    meetings = queries.visible_meetings(request.auth)
    if village is not None:
        meetings = meetings.filter(cell__path__startswith=village.path)
    return meetings[:200]


@router.post("/meetings", response={201: MeetingOut})
def record_meeting(request, payload: MeetingIn):
    queries.require_manage(request.auth)
    villages = list(queries.manageable_villages(request.auth))
    cell = GridCell.objects.filter(code=payload.cell).defer("geometry").first()
    if cell is None or not any(cell.is_within(v) for v in villages):
        raise InvalidInput(fields={"cell": _("Choose a village or a grid inside it.")})
    meeting = actions.record_courtyard_meeting(
        cell,
        held_on=payload.held_on,
        topic=payload.topic,
        participant_count=payload.participant_count,
        participant_names=payload.participant_names,
        outcome=payload.outcome,
        follow_up=payload.follow_up,
        case=_case(request.auth, payload.case),
        actor=request.auth,
    )
    return Status(201, meeting)


@router.post("/meetings/{meeting_id}/follow-up", response=MeetingOut)
def follow_up(request, meeting_id: int, payload: FollowUpIn):
    meeting = queries.get_meeting_for(request.auth, meeting_id)
    return actions.set_meeting_follow_up(
        meeting,
        version=payload.version,
        follow_up=payload.follow_up,
        case=_case(request.auth, payload.case),
        actor=request.auth,
    )


def _disclosure_fields(payload: DisclosureIn) -> dict:
    fields = payload.dict(exclude={"village", "version"})
    fields["lines"] = [dict(line) for line in fields["lines"]]
    return fields


@router.get("/disclosures", response=list[DisclosureOut])
def list_disclosures(request, filters: Query[VillageFilter]):
    village = _in_village(request.auth, filters)
    items = queries.visible_disclosures(request.auth).prefetch_related("lines")
    if village is not None:
        items = items.filter(village=village)
    return items[:200]


@router.post("/disclosures", response={201: DisclosureOut})
def create_disclosure(request, payload: DisclosureCreate):
    village = queries.get_village_for(request.auth, payload.village)
    item = actions.create_disclosure(village, actor=request.auth, **_disclosure_fields(payload))
    return Status(201, queries.get_disclosure_for(request.auth, item.pk))


@router.get("/disclosures/{item_id}", response=DisclosureOut)
def get_disclosure(request, item_id: int):
    return queries.get_disclosure_for(request.auth, item_id)


@router.put("/disclosures/{item_id}", response=DisclosureOut)
def update_disclosure(request, item_id: int, payload: DisclosureUpdate):
    """Change a draft; a published item answers 409."""
    item = queries.get_disclosure_for(request.auth, item_id)
    actions.update_disclosure(
        item, version=payload.version, actor=request.auth, **_disclosure_fields(payload)
    )
    return queries.get_disclosure_for(request.auth, item_id)


@router.post("/disclosures/{item_id}/publish", response=DisclosureOut)
def publish(request, item_id: int, payload: VersionIn):
    item = queries.get_disclosure_for(request.auth, item_id)
    actions.publish_disclosure(item, version=payload.version, actor=request.auth)
    return queries.get_disclosure_for(request.auth, item_id)


@router.post("/disclosures/{item_id}/correct", response={201: DisclosureOut})
def correct(request, item_id: int):
    """Draft a correction (a copy to edit) of a published item."""
    item = queries.get_disclosure_for(request.auth, item_id)
    fix = actions.correct_disclosure(item, actor=request.auth)
    return Status(201, queries.get_disclosure_for(request.auth, fix.pk))
