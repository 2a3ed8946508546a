"""民生实事 pages. Staff (/projects/): create projects and sub-projects, report progress with
photos, milestones and state, moderate 码上议 comments; deputies record their supervision.
Public, without logging in: a township's or community's projects (/projects/<code>/), a
project's page (/projects/p/<id>/) with progress, milestones, photos, budget and the deputies'
record, and its QR code that opens the comment form. No resident's personal data reaches a
public page: commenters' phones are never shown and numbers typed into text are masked."""

import io
import uuid

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Q, Sum
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from wangge.accounts.permissions import Perm, active_assignments, has_perm
from wangge.grids.models import GridCell, GridLevel
from wangge.lib.errors import DomainError, NotFound
from wangge.lib.throttle import throttled, too_many_text
from wangge.projects import actions, queries
from wangge.projects.forms import (
    CommentForm,
    MilestoneForm,
    ModerateForm,
    ProgressForm,
    ProjectForm,
    ReachForm,
    StateForm,
    SupervisionForm,
)
from wangge.projects.models import (
    CommentStatus,
    LivelihoodProject,
    ProjectPhoto,
    ProjectState,
    SupervisionKind,
)

QR_MAKE = {"error": "m", "micro": False}
QR_SAVE = {"svg": {"scale": 8, "border": 4}, "png": {"scale": 10, "border": 4}}
QR_TYPES = {"svg": "image/svg+xml", "png": "image/png"}
# 码上议 comments one client (address) may send per hour, against floods.
COMMENT_LIMIT = 10
HOUR = 3600


def _project_for(user, project_id: int, scope: str) -> LivelihoodProject:
    try:
        return queries.get_project_for(user, project_id, scope)
    except NotFound as exc:
        raise Http404(exc.text()) from exc


def _form_errors(form, exc: DomainError) -> None:
    """Put a refusal's messages on the form: on their fields, or on the whole form."""
    if not exc.fields:
        form.add_error(None, exc.text())
    for name, message in exc.fields.items():
        form.add_error(name if name in form.fields else None, str(message))


def _staff_user(user) -> None:
    if not active_assignments(user):
        raise DjangoPermissionDenied()


def _creatable_cells(user) -> list[GridCell]:
    """The cells a project may serve: the user's community scopes down to the grids."""
    scope = Q()
    for a in active_assignments(user, Perm.MANAGE_COMMUNITY):
        if a.cell is not None:
            scope |= Q(path__startswith=a.cell.path)
    if not scope:
        return []
    return list(GridCell.objects.filter(scope, level__lte=GridLevel.GRID).defer("geometry"))


# --- staff ------------------------------------------------------------------------------------


@login_required
def home(request):
    """The projects the user has business with, each tree with its progress."""
    _staff_user(request.user)
    roots = queries.visible_projects(request.user).filter(parent__isnull=True)
    rows = list(roots.order_by("-created_at", "-id")[:200])
    may_create = has_perm(request.user, Perm.MANAGE_COMMUNITY)
    context = {
        "rows": rows,
        "may_create": may_create,
        "form": ProjectForm(cells=_creatable_cells(request.user)) if may_create else None,
        "pending": queries.comments_to_moderate(request.user).count() if may_create else 0,
    }
    return render(request, "projects/home.html", context)


@login_required
@require_POST
def create(request):
    """立项, or a sub-project when `parent` is given."""
    if not has_perm(request.user, Perm.MANAGE_COMMUNITY):
        raise DjangoPermissionDenied()
    parent = None
    if request.POST.get("parent"):
        try:
            parent = _project_for(request.user, int(request.POST["parent"]), "managed")
        except ValueError:
            raise Http404() from None
    form = ProjectForm(request.POST, cells=_creatable_cells(request.user))
    if form.is_valid():
        data = form.cleaned_data
        try:
            project = actions.create_project(
                actor=request.user,
                title=data["title"],
                description=data["description"],
                cell=GridCell.objects.get(code=data["cell"]),
                owner_unit=data["owner_unit"],
                budget=data["budget"],
                weight=data["weight"],
                start_date=data["start_date"],
                planned_end=data["planned_end"],
                parent=parent,
            )
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, gettext("Project created."))
            return redirect("projects_manage", project.pk)
    if parent is not None:
        return _manage(request, parent, project_form=form, status=400)
    context = {"rows": [], "may_create": True, "form": form, "pending": 0}
    return render(request, "projects/home.html", context, status=400)


def _manage(request, project: LivelihoodProject, *, status: int = 200, **forms):
    user = request.user
    may_progress = queries.may(user, project, "progress")
    may_manage = queries.may(user, project, "managed")
    may_supervise = queries.may(user, project, "supervised")
    tree = queries.tree_of(project)
    is_leaf = not tree
    subtree_ids = [project.pk, *(p.pk for p, _d in tree)]
    context = {
        "project": project,
        "ancestors": list(reversed(queries.ancestors(project))),
        "tree": tree,
        "is_leaf": is_leaf,
        "milestones": project.milestones.all(),
        "history": project.progress_updates.all() if is_leaf else [],
        "sub_history": queries.progress_updates(subtree_ids[1:])[:100] if not is_leaf else [],
        "records": project.supervision_records.prefetch_related("photos"),
        "comments": project.public_comments.defer("phone")[:50],
        "may_progress": may_progress,
        "may_manage": may_manage,
        "may_supervise": may_supervise,
        "progress_form": forms.get("progress_form")
        or ProgressForm(initial={"key": uuid.uuid4().hex}),
        "state_form": forms.get("state_form") or StateForm(),
        "milestone_form": forms.get("milestone_form") or MilestoneForm(),
        "supervision_form": forms.get("supervision_form") or SupervisionForm(),
        "project_form": forms.get("project_form")
        or ProjectForm(
            cells=[c for c in _creatable_cells(user) if c.is_within(project.cell)],
            initial={"owner_unit": project.owner_unit_id, "cell": project.cell.code},
        ),
        "states": [s for s in ProjectState if s != project.state],
        "today": timezone.localdate(),
    }
    return render(request, "projects/manage.html", context, status=status)


@login_required
def manage(request, project_id: int):
    return _manage(request, _project_for(request.user, project_id, "visible"))


@login_required
@require_POST
def progress(request, project_id: int):
    project = _project_for(request.user, project_id, "progress")
    form = ProgressForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            actions.report_progress(
                project,
                progress=data["progress"],
                note=data["note"],
                photos=data["photos"],
                actor=request.user,
                idempotency_key=data["key"] or None,
            )
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, gettext("Progress recorded."))
            return redirect("projects_manage", project.pk)
    return _manage(request, project, progress_form=form, status=400)


@login_required
@require_POST
def change_state(request, project_id: int):
    project = _project_for(request.user, project_id, "progress")
    form = StateForm(request.POST)
    if form.is_valid():
        try:
            actions.change_project_state(
                project,
                to=form.cleaned_data["to"],
                reason=form.cleaned_data["reason"],
                actor=request.user,
            )
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, gettext("State changed."))
            return redirect("projects_manage", project.pk)
    return _manage(request, project, state_form=form, status=400)


@login_required
@require_POST
def add_milestone(request, project_id: int):
    project = _project_for(request.user, project_id, "progress")
    form = MilestoneForm(request.POST)
    if form.is_valid():
        try:
            actions.add_milestone(
                project,
                title=form.cleaned_data["title"],
                due_date=form.cleaned_data["due_date"],
                actor=request.user,
            )
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            return redirect("projects_manage", project.pk)
    return _manage(request, project, milestone_form=form, status=400)


@login_required
@require_POST
def reach_milestone(request, project_id: int, milestone_id: int):
    project = _project_for(request.user, project_id, "progress")
    milestone = project.milestones.filter(pk=milestone_id).first()
    if milestone is None:
        raise Http404()
    form = ReachForm(request.POST)
    if form.is_valid():
        try:
            actions.reach_milestone(
                milestone, done_on=form.cleaned_data["done_on"], actor=request.user
            )
        except DomainError as exc:
            messages.error(request, exc.text())
    else:
        messages.error(request, gettext("Give the day the milestone was reached."))
    return redirect("projects_manage", project.pk)


@login_required
@require_POST
def supervise(request, project_id: int):
    """A deputy's comment, rating or site visit."""
    if not has_perm(request.user, Perm.SUPERVISE_PROJECTS):
        raise DjangoPermissionDenied()
    project = _project_for(request.user, project_id, "supervised")
    form = SupervisionForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            if data["kind"] == SupervisionKind.RATING:
                actions.rate_project(
                    project, rating=data["rating"], text=data["text"], actor=request.user
                )
            elif data["kind"] == SupervisionKind.SITE_VISIT:
                actions.record_site_visit(
                    project,
                    visit_date=data["visit_date"],
                    findings=data["text"],
                    photos=data["photos"],
                    actor=request.user,
                )
            else:
                actions.comment_as_deputy(project, text=data["text"], actor=request.user)
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, gettext("Supervision recorded; it shows publicly."))
            return redirect("projects_manage", project.pk)
    return _manage(request, project, supervision_form=form, status=400)


@login_required
def comments(request):
    """码上议 moderation: the comments on projects in the user's community scope."""
    if not has_perm(request.user, Perm.MANAGE_COMMUNITY):
        raise DjangoPermissionDenied()
    status = request.GET.get("status", CommentStatus.PENDING)
    if status not in CommentStatus.values:
        status = CommentStatus.PENDING
    rows = queries.comments_to_moderate(request.user, status)[:200]
    context = {
        "rows": [(c, queries.masked_text(c.body)) for c in rows],
        "status": status,
        "statuses": CommentStatus.choices,
        "form": ModerateForm(),
    }
    return render(request, "projects/comments.html", context)


@login_required
@require_POST
def moderate(request, comment_id: int, verdict: str):
    if not has_perm(request.user, Perm.MANAGE_COMMUNITY):
        raise DjangoPermissionDenied()
    try:
        comment = queries.get_comment_for(request.user, comment_id)
    except NotFound as exc:
        raise Http404() from exc
    form = ModerateForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        if verdict == "approve":
            actions.approve_comment(comment, actor=request.user)
        else:
            actions.hide_comment(comment, actor=request.user, reason=reason)
    except DomainError as exc:
        messages.error(request, exc.text())
    else:
        messages.success(request, gettext("Done."))
    return redirect(f"{reverse('projects_comments')}?status={request.POST.get('back', '')}")


# --- public -----------------------------------------------------------------------------------


def _public_project(project_id: int) -> LivelihoodProject:
    try:
        return queries.get_public_project(project_id)
    except NotFound as exc:
        raise Http404(exc.text()) from exc


@require_GET
def public_list(request, code: str):
    try:
        cell = queries.public_cell(code)
    except NotFound as exc:
        raise Http404() from exc
    projects = list(queries.public_projects(cell))
    context = {
        "cell": cell,
        "projects": projects,
        "total_budget": sum((p.budget for p in projects), start=0),
        "communities": cell.children.filter(level__lte=GridLevel.COMMUNITY).defer("geometry")
        if cell.level < GridLevel.COMMUNITY
        else [],
    }
    return render(request, "projects/public_list.html", context)


@require_GET
def public_detail(request, project_id: int):
    project = _public_project(project_id)
    tree = queries.tree_of(project)
    ids = [project.pk, *(p.pk for p, _d in tree)]
    updates = list(
        project.progress_updates.all() if not tree else []
    )  # a parent's own history is its children's
    records = list(project.supervision_records.prefetch_related("photos"))
    ratings = [r.rating for r in records if r.rating]
    context = {
        "project": project,
        "ancestors": list(reversed(queries.ancestors(project))),
        "tree": tree,
        "milestones": project.milestones.all(),
        "photos": ProjectPhoto.objects.filter(project_id__in=ids, record__isnull=True)[:30],
        "updates": [(u, queries.masked_text(u.note)) for u in updates],
        "records": [(r, queries.masked_text(r.text)) for r in records],
        "average_rating": round(sum(ratings) / len(ratings), 1) if ratings else None,
        "comments": [(c, queries.masked_text(c.body)) for c in queries.approved_comments(project)],
        "sub_budget": LivelihoodProject.objects.filter(parent=project).aggregate(s=Sum("budget"))[
            "s"
        ],
    }
    return render(request, "projects/public_detail.html", context)


def comment_url(request, project: LivelihoodProject) -> str:
    """What the project's QR code says: the absolute address of its comment form."""
    return request.build_absolute_uri(reverse("projects_comment", args=[project.pk]))


@require_GET
def qr(request, project_id: int, kind: str):
    project = _public_project(project_id)
    out = io.BytesIO()
    segno.make(comment_url(request, project), **QR_MAKE).save(out, kind=kind, **QR_SAVE[kind])
    response = HttpResponse(out.getvalue(), content_type=QR_TYPES[kind])
    response["Content-Disposition"] = f'inline; filename="project-{project.pk}.{kind}"'
    patch_cache_control(response, public=True, max_age=3600)
    return response


def comment(request, project_id: int):
    """码上议: the form the QR code opens. Anonymous unless a phone is left for a reply."""
    project = _public_project(project_id)
    if request.method == "POST":
        form = CommentForm(request.POST)
        status = 400
        if form.is_valid() and throttled(request, "comment", limit=COMMENT_LIMIT, per=HOUR):
            form.add_error(None, too_many_text(HOUR))
            status = 429
        elif form.is_valid():
            data = form.cleaned_data
            try:
                actions.submit_public_comment(
                    project, body=data["body"], phone=data["phone"], idempotency_key=data["key"]
                )
            except DomainError as exc:
                _form_errors(form, exc)
            else:
                return render(request, "projects/comment_done.html", {"project": project})
    else:
        form = CommentForm(initial={"key": uuid.uuid4().hex})
        status = 200
    return render(
        request, "projects/comment.html", {"project": project, "form": form}, status=status
    )


@require_GET
def photo(request, photo_id: int):
    """A project photo: they are all public (the work, not the people)."""
    item = ProjectPhoto.objects.filter(pk=photo_id).first()
    if item is None:
        raise Http404()
    response = FileResponse(item.file.open("rb"), content_type=item.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    patch_cache_control(response, public=True, max_age=86400)
    return response
