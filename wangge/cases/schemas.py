"""Request and response shapes of the case API. Inputs forbid unknown fields, so a typo in an
integration is a 400 naming the field, not a silently ignored value."""

from datetime import date, datetime

from django.utils import timezone
from ninja import Field, Schema
from pydantic import ConfigDict

from wangge.cases.deadlines import deadline_colour
from wangge.cases.models import (
    Audience,
    Case,
    CaseState,
    EventKind,
    SupervisionLevel,
    SupervisionOrder,
    SupervisionState,
)
from wangge.lib.masking import mask_phone


class In(Schema):
    model_config = ConfigDict(extra="forbid")


class CaseIn(In):
    """上报: one report from any channel. Give lon/lat, or `cell` (a grid code, as QR codes do)."""

    title: str = Field(..., max_length=200)
    description: str = Field("", max_length=5000)
    channel: str
    category: str | None = Field(None, description="category code, e.g. 0201")
    priority: str = "normal"
    lon: float | None = None
    lat: float | None = None
    cell: str | None = Field(None, description="grid code, for reports from a grid's QR code")
    address: str = Field("", max_length=300)
    reporter_name: str = Field("", max_length=50)
    reporter_phone: str = Field("", max_length=20)
    anonymous: bool = False
    external_ref: str = Field("", max_length=100)


class CaseFilters(Schema):
    state: str | None = None
    colour: str | None = Field(None, description="green, yellow or red")
    grid: str | None = Field(None, description="grid id or code: that grid and everything under it")
    unit: int | None = None
    channel: str | None = None
    category: str | None = Field(None, description="category code, with its subcategories")
    reported_from: date | None = None
    reported_to: date | None = None


class VersionIn(In):
    # The version the client saw: if the case moved since, the answer is 409, never a blind move.
    version: int | None = None


class DispatchIn(VersionIn):
    unit_id: int | None = None
    assignee_id: int | None = None
    helpers: list[int] = Field(default_factory=list, description="unit ids of 协办 units")
    due_at: datetime | None = None
    note: str = ""
    category: str | None = Field(None, description="category code, to correct the case's category")


class ReasonIn(VersionIn):
    reason: str = ""


class ResolveIn(VersionIn):
    outcome: str
    note: str = ""
    lon: float | None = Field(None, description="where the handler stood (the phone's GPS)")
    lat: float | None = None


class RateIn(VersionIn):
    satisfaction: str
    comment: str = ""


class SuperviseIn(In):
    level: str = "command_centre"
    demand: str = ""
    due_at: datetime


class RevealIn(In):
    purpose: str = ""


class ReplyIn(In):
    text: str = Field("", max_length=2000, description="shown to the reporter on the tracking page")


class InstructIn(In):
    text: str = Field("", max_length=2000)


class InstructionResultIn(In):
    result: str = Field("", max_length=5000)


class TaskDoneIn(In):
    note: str = Field("", max_length=5000)
    unit_id: int | None = Field(None, description="needed only if the caller handles for two")


class AnswerIn(In):
    answer: str = Field("", max_length=5000)


class SupervisionFilters(Schema):
    state: str = Field("open", description="open, answered or closed")


class Ref(Schema):
    id: int
    code: str
    name: str


class PersonOut(Schema):
    id: int
    name: str

    @staticmethod
    def resolve_name(obj) -> str:
        return str(obj)


class TaskOut(Schema):
    unit: Ref
    role: str
    due_at: datetime
    done_at: datetime | None


class CaseRef(Schema):
    id: int
    tracking_code: str
    title: str


class SupervisionOut(Schema):
    """督办 order; `overdue` is open past `due_at`, computed, never stored."""

    id: int
    case: CaseRef | None
    unit: Ref | None
    level: str
    level_label: str
    demand: str
    due_at: datetime
    overdue: bool
    state: str
    opened_by: PersonOut
    opened_at: datetime
    answer: str
    answered_by: PersonOut | None
    answered_at: datetime | None

    @staticmethod
    def resolve_level_label(obj: SupervisionOrder) -> str:
        return str(SupervisionLevel(obj.level).label)

    @staticmethod
    def resolve_overdue(obj: SupervisionOrder) -> bool:
        overdue = getattr(obj, "overdue", None)
        if overdue is not None:
            return overdue
        return obj.state == SupervisionState.OPEN and obj.due_at < timezone.now()


class InstructionOut(Schema):
    """批办: a leader's instruction and, once recorded, its result."""

    id: int
    leader: PersonOut
    text: str
    given_at: datetime
    result: str
    result_at: datetime | None


class RecommendationOut(Schema):
    router: str
    candidates: list[dict]
    chosen_unit_id: int | None
    chosen_by_id: int | None
    created_at: datetime


class EventOut(Schema):
    kind: str
    label: str
    audience: str
    occurred_at: datetime
    actor_name: str
    from_state: str
    to_state: str
    reason: str
    data: dict

    @staticmethod
    def resolve_label(obj) -> str:
        return str(EventKind(obj.kind).label) if obj.kind in EventKind.values else obj.kind


class CaseOut(Schema):
    id: int
    tracking_code: str
    version: int
    state: str
    state_label: str
    colour: str
    title: str
    description: str
    channel: str
    category: Ref | None
    priority: str
    external_ref: str
    anonymous: bool
    reporter_name: str
    reporter_phone: str = Field(..., description="masked: the last four digits, e.g. *******1234")
    lon: float | None
    lat: float | None
    address: str
    cell: Ref
    handling_cell: Ref
    location_flag: str
    unit: Ref | None
    assignee: PersonOut | None
    reported_at: datetime
    dispatched_at: datetime | None
    accept_due_at: datetime | None
    accepted_at: datetime | None
    warn_at: datetime | None
    due_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    outcome: str
    resolution_note: str
    satisfaction: str
    routing_pending: bool = Field(
        ..., description="智能分派 has yet to run (the worker routes it within seconds)"
    )

    @staticmethod
    def resolve_state_label(obj: Case) -> str:
        return str(CaseState(obj.state).label)

    @staticmethod
    def resolve_colour(obj: Case) -> str:
        colour = getattr(obj, "colour", None)
        return colour if colour is not None else deadline_colour(obj, now=timezone.now())

    @staticmethod
    def resolve_reporter_phone(obj: Case) -> str:
        return mask_phone(obj.reporter_phone)


class CaseDetailOut(CaseOut):
    """One case with its timeline; internal lines, 督办 orders and 批办 only for staff."""

    events: list[EventOut]
    tasks: list[TaskOut]
    supervisions: list[SupervisionOut]
    instructions: list[InstructionOut]
    recommendation: RecommendationOut | None

    @staticmethod
    def resolve_events(obj: Case) -> list:
        events = getattr(obj, "fresh_events", None)  # a case just reported: its one event
        if events is None:
            events = list(obj.events.all())
        if not getattr(obj, "show_internal", False):
            events = [e for e in events if e.audience == Audience.PUBLIC]
        return events

    @staticmethod
    def resolve_tasks(obj: Case) -> list:
        if hasattr(obj, "fresh_events"):
            return []
        # "lead" sorts after "helper": descending puts 主办 first.
        return list(obj.tasks.select_related("unit").order_by("-role", "unit__code"))

    @staticmethod
    def resolve_supervisions(obj: Case) -> list:
        if hasattr(obj, "fresh_events"):
            return []
        if not getattr(obj, "show_internal", False):
            return []
        orders = obj.supervisions.select_related("unit", "opened_by", "answered_by")
        return [_on(o, obj) for o in orders.order_by("opened_at", "id")]

    @staticmethod
    def resolve_instructions(obj: Case) -> list:
        if hasattr(obj, "fresh_events"):
            return []
        if not getattr(obj, "show_internal", False):
            return []
        return list(obj.instructions.select_related("leader").order_by("given_at", "id"))

    @staticmethod
    def resolve_recommendation(obj: Case):
        return getattr(obj, "recommendation", None)


def _on(order: SupervisionOrder, case: Case) -> SupervisionOrder:
    order.case = case  # the case in hand, instead of one read per order
    return order


class RevealOut(Schema):
    phone: str


class AttachmentOut(Schema):
    id: int
    original_name: str
    content_type: str
    size: int
    is_public: bool
