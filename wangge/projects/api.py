"""民生实事 over JSON, under /api/v1/projects: the caller's projects, creation, progress with its
history, milestones and state, deputies' supervision and the moderation of public comments.
A project outside the caller's scope answers 404; a role without the permission 403."""

from django.utils.translation import gettext_lazy as _
from ninja import Header, Router, Status
from ninja.pagination import PageNumberPagination, paginate

from wangge.accounts.models import Unit
from wangge.accounts.permissions import Perm, active_assignments, has_perm
from wangge.grids.models import GridCell
from wangge.lib.errors import InvalidInput, NotFound, PermissionDenied
from wangge.projects import actions, queries
from wangge.projects.models import SupervisionKind
from wangge.projects.schemas import (
    CommentOut,
    HideIn,
    MilestoneIn,
    MilestoneOut,
    ProgressIn,
    ProgressUpdateOut,
    ProjectDetailOut,
    ProjectIn,
    ProjectOut,
    ReachIn,
    StateIn,
    SupervisionIn,
    SupervisionOut,
)

router = Router(tags=["projects"])


def _require(user, perm: Perm | None = None) -> None:
    if not (has_perm(user, perm) if perm else active_assignments(user)):
        raise PermissionDenied()


@router.get("", response=list[ProjectOut])
@paginate(PageNumberPagination, page_size=50)
def list_projects(request, top: bool = False):
    """The projects the caller works on (community, owner unit) or supervises; `top=true` for
    top-level projects only."""
    _require(request.auth)
    projects = queries.visible_projects(request.auth)
    if top:
        projects = projects.filter(parent__isnull=True)
    return projects.order_by("id")


@router.post("", response={201: ProjectDetailOut})
def create_project(request, payload: ProjectIn):
    """立项, or a sub-project with `parent_id` (community staff of the area)."""
    _require(request.auth, Perm.MANAGE_COMMUNITY)
    parent = (
        queries.get_project_for(request.auth, payload.parent_id, "managed")
        if payload.parent_id
        else None
    )
    cell = GridCell.objects.filter(code=payload.cell).defer("geometry").first()
    unit = Unit.objects.filter(code=payload.owner_unit).first()
    fields = {}
    if cell is None:
        fields["cell"] = _("Grid not found.")
    if unit is None:
        fields["owner_unit"] = _("Unit not found.")
    if fields:
        raise InvalidInput(fields=fields)
    project = actions.create_project(
        actor=request.auth,
        title=payload.title,
        description=payload.description,
        cell=cell,
        owner_unit=unit,
        budget=payload.budget,
        weight=payload.weight,
        start_date=payload.start_date,
        planned_end=payload.planned_end,
        parent=parent,
    )
    return Status(201, project)


@router.get("/comments", response=list[CommentOut])
@paginate(PageNumberPagination, page_size=50)
def list_comments(request, status: str = "pending"):
    """码上议 comments on projects of the caller's community scope (pending by default)."""
    _require(request.auth, Perm.MANAGE_COMMUNITY)
    return queries.comments_to_moderate(request.auth, status)


@router.post("/comments/{int:comment_id}/approve", response=CommentOut)
def approve_comment(request, comment_id: int):
    _require(request.auth, Perm.MANAGE_COMMUNITY)
    comment = queries.get_comment_for(request.auth, comment_id)
    return actions.approve_comment(comment, actor=request.auth)


@router.post("/comments/{int:comment_id}/hide", response=CommentOut)
def hide_comment(request, comment_id: int, payload: HideIn):
    _require(request.auth, Perm.MANAGE_COMMUNITY)
    comment = queries.get_comment_for(request.auth, comment_id)
    return actions.hide_comment(comment, actor=request.auth, reason=payload.reason)


@router.get("/{int:project_id}", response=ProjectDetailOut)
def get_project(request, project_id: int):
    _require(request.auth)
    return queries.get_project_for(request.auth, project_id)


@router.get("/{int:project_id}/progress", response=list[ProgressUpdateOut])
def progress_history(request, project_id: int):
    """Every progress report on the project and the sub-projects under it, oldest first."""
    _require(request.auth)
    project = queries.get_project_for(request.auth, project_id)
    ids = [project.pk, *(p.pk for p in queries.descendants(project))]
    return queries.progress_updates(ids)


@router.post(
    "/{int:project_id}/progress", response={200: ProgressUpdateOut, 201: ProgressUpdateOut}
)
def report_progress(
    request,
    project_id: int,
    payload: ProgressIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=100),
):
    """The owner reports a leaf project's progress; a retry with the same `Idempotency-Key`
    answers 200 with the first report."""
    _require(request.auth)
    project = queries.get_project_for(request.auth, project_id, "progress")
    update, created = actions.report_progress(
        project,
        progress=payload.progress,
        note=payload.note,
        actor=request.auth,
        idempotency_key=idempotency_key,
    )
    return Status(201 if created else 200, update)


@router.post("/{int:project_id}/state", response=ProjectOut)
def change_state(request, project_id: int, payload: StateIn):
    _require(request.auth)
    project = queries.get_project_for(request.auth, project_id, "progress")
    return actions.change_project_state(
        project, to=payload.to, reason=payload.reason, actor=request.auth
    )


@router.post("/{int:project_id}/milestones", response={201: MilestoneOut})
def add_milestone(request, project_id: int, payload: MilestoneIn):
    _require(request.auth)
    project = queries.get_project_for(request.auth, project_id, "progress")
    milestone = actions.add_milestone(
        project, title=payload.title, due_date=payload.due_date, actor=request.auth
    )
    return Status(201, milestone)


@router.post("/{int:project_id}/milestones/{int:milestone_id}/reached", response=MilestoneOut)
def reach_milestone(request, project_id: int, milestone_id: int, payload: ReachIn):
    _require(request.auth)
    project = queries.get_project_for(request.auth, project_id, "progress")
    milestone = project.milestones.filter(pk=milestone_id).first()
    if milestone is None:
        raise NotFound()
    return actions.reach_milestone(milestone, done_on=payload.done_on, actor=request.auth)


@router.get("/{int:project_id}/supervision", response=list[SupervisionOut])
def supervision_records(request, project_id: int):
    _require(request.auth)
    return queries.get_project_for(request.auth, project_id).supervision_records.all()


@router.post("/{int:project_id}/supervision", response={201: SupervisionOut})
def supervise(request, project_id: int, payload: SupervisionIn):
    """人大代表监督: a comment, a rating (1–5) or a site visit (date and findings)."""
    _require(request.auth, Perm.SUPERVISE_PROJECTS)
    project = queries.get_project_for(request.auth, project_id, "supervised")
    if payload.kind == SupervisionKind.RATING:
        record = actions.rate_project(
            project, rating=payload.rating, text=payload.text, actor=request.auth
        )
    elif payload.kind == SupervisionKind.SITE_VISIT:
        record = actions.record_site_visit(
            project, visit_date=payload.visit_date, findings=payload.text, actor=request.auth
        )
    elif payload.kind == SupervisionKind.COMMENT:
        record = actions.comment_as_deputy(project, text=payload.text, actor=request.auth)
    else:
        raise InvalidInput(fields={"kind": _("Choose one of the allowed values.")})
    return Status(201, record)
