"""Request and response shapes of the projects API. Inputs forbid unknown fields; no output
carries a commenter's phone."""

from datetime import date, datetime
from decimal import Decimal

from ninja import Field, Schema
from pydantic import ConfigDict

from wangge.projects.models import CommentStatus, ProjectState, SupervisionKind
from wangge.projects.queries import masked_text


class In(Schema):
    model_config = ConfigDict(extra="forbid")


class ProjectIn(In):
    title: str = Field(..., max_length=200)
    description: str = Field("", max_length=5000)
    cell: str = Field(..., description="grid code the project serves")
    owner_unit: str = Field(..., description="code of the owner unit")
    budget: Decimal = Field(..., ge=0, description="yuan")
    weight: Decimal | None = Field(None, ge=0, description="weight in the parent; empty: budget")
    start_date: date | None = None
    planned_end: date | None = None
    parent_id: int | None = Field(None, description="make it a sub-project of this project")


class ProgressIn(In):
    progress: Decimal = Field(..., ge=0, le=100, description="percent")
    note: str = Field(..., max_length=2000)


class StateIn(In):
    to: str = Field(..., description=", ".join(ProjectState.values))
    reason: str = Field("", max_length=500)


class MilestoneIn(In):
    title: str = Field(..., max_length=200)
    due_date: date | None = None


class ReachIn(In):
    done_on: date


class SupervisionIn(In):
    kind: str = Field(..., description=", ".join(SupervisionKind.values))
    text: str = Field("", max_length=2000, description="comment, or findings of a site visit")
    rating: int | None = Field(None, description="1–5, for a rating")
    visit_date: date | None = Field(None, description="for a site visit")


class HideIn(In):
    reason: str = Field("", max_length=500)


class MilestoneOut(Schema):
    id: int
    title: str
    due_date: date | None
    done_on: date | None


class ProjectOut(Schema):
    id: int
    parent_id: int | None
    title: str
    cell: str
    owner_unit: str
    budget: Decimal
    weight: Decimal | None
    start_date: date | None
    planned_end: date | None
    state: str
    progress: Decimal

    @staticmethod
    def resolve_cell(obj) -> str:
        return obj.cell.code

    @staticmethod
    def resolve_owner_unit(obj) -> str:
        return obj.owner_unit.code


class ProjectDetailOut(ProjectOut):
    description: str
    children: list[int]
    milestones: list[MilestoneOut]

    @staticmethod
    def resolve_children(obj) -> list[int]:
        return list(obj.children.values_list("pk", flat=True))

    @staticmethod
    def resolve_milestones(obj) -> list:
        return list(obj.milestones.all())


class ProgressUpdateOut(Schema):
    id: int
    project_id: int
    previous: Decimal
    progress: Decimal
    note: str
    actor_name: str
    occurred_at: datetime


class SupervisionOut(Schema):
    id: int
    project_id: int
    kind: str
    deputy_name: str
    text: str
    rating: int | None
    visit_date: date | None
    occurred_at: datetime


class CommentOut(Schema):
    id: int
    project_id: int
    body: str = Field(..., description="phone or ID numbers typed into it are masked")
    status: str = Field(..., description=", ".join(CommentStatus.values))
    created_at: datetime
    with_phone: bool = Field(..., description="a phone was left for a reply (never shown)")

    @staticmethod
    def resolve_body(obj) -> str:
        return masked_text(obj.body)

    @staticmethod
    def resolve_with_phone(obj) -> bool:
        known = getattr(obj, "with_phone", None)  # annotated in lists
        return bool(obj.phone) if known is None else known
