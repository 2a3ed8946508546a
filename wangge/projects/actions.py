"""Every change to 民生实事: one transaction each, an audit row inside it.

Scope is re-checked here as well as in the handlers, so no caller can place a project outside
the actor's grid or supervise one outside the deputy's area. A parent's progress is recomputed
from its children in the transaction that changes one of them, with the tree's root row locked,
so two owners reporting on sibling sub-projects at once both count."""

import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wangge.accounts.models import Unit, User
from wangge.accounts.permissions import Perm, active_assignments
from wangge.audit.actions import record_audit
from wangge.grids.models import GridCell
from wangge.lib.errors import Conflict, InvalidInput, NotFound
from wangge.lib.images import check_size, clean_image, sniff_image
from wangge.projects import queries
from wangge.projects.models import (
    STATE_TRANSITIONS,
    CommentStatus,
    LivelihoodProject,
    Milestone,
    ProgressUpdate,
    ProjectPhoto,
    ProjectState,
    PublicComment,
    SupervisionKind,
    SupervisionRecord,
    weighted_progress,
)

MAX_PHOTOS = 3
PHOTO_TYPES = {"image/jpeg", "image/png", "image/webp"}
NOTE_MAX = 2000
COMMENT_MIN, COMMENT_MAX = 5, 500
_PHONE = re.compile(r"^1[3-9]\d{9}$")
_KEY = re.compile(r"^[A-Za-z0-9_-]{8,100}$")


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _in_scope(actor, project: LivelihoodProject, scope: str) -> None:
    if not queries.may(actor, project, scope):
        raise NotFound(_("Project not found."))


def _money(value, field: str, *, required: bool = True) -> Decimal | None:
    if value in (None, "") and not required:
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidInput(fields={field: _("Enter an amount in yuan.")}) from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
        raise InvalidInput(fields={field: _("Enter an amount in yuan.")})
    return amount.quantize(Decimal("0.01"))


# --- photos -----------------------------------------------------------------------------------


def _check_photos(photos: Sequence) -> None:
    """Size, type and count of every photo, checked before anything is written."""
    if len(photos) > MAX_PHOTOS:
        raise InvalidInput(fields={"photos": _("At most %(n)s photos.") % {"n": MAX_PHOTOS}})
    for upload in photos:
        check_size(upload)
        # The declared type must be what the first bytes say: a .jpg that is not a picture fails.
        content_type = (getattr(upload, "content_type", "") or "").split(";")[0]
        if content_type not in PHOTO_TYPES or sniff_image(upload) != content_type:
            raise InvalidInput(fields={"photos": _("Only JPEG, PNG or WebP photos are accepted.")})


def _save_photos(project, photos: Sequence, *, actor, update=None, record=None) -> list:
    saved = []
    try:
        for upload in photos:
            upload = clean_image(upload, field="photos")  # project photos are public
            saved.append(
                ProjectPhoto.objects.create(
                    project=project,
                    update=update,
                    record=record,
                    file=upload,
                    original_name=upload.name[:200],
                    content_type=upload.content_type.split(";")[0],
                    size=upload.size,
                    uploaded_by=actor if actor and actor.pk else None,
                )
            )
    except Exception:
        for photo in saved:  # the rollback keeps no row; keep no file either
            photo.file.delete(save=False)
        raise
    return saved


# --- projects ---------------------------------------------------------------------------------


@transaction.atomic
def create_project(
    *,
    actor: User,
    title: str,
    cell: GridCell,
    owner_unit: Unit,
    budget,
    description: str = "",
    weight=None,
    start_date: date | None = None,
    planned_end: date | None = None,
    parent: LivelihoodProject | None = None,
) -> LivelihoodProject:
    """立项: a livelihood project for a grid node, or a sub-project of one (its parent's
    progress then counts it by its weight, its budget unless told)."""
    errors = {}
    title = (title or "").strip()
    if not title or len(title) > 200:
        errors["title"] = _("Give the project a title (at most 200 characters).")
    if start_date and planned_end and planned_end < start_date:
        errors["planned_end"] = _("The planned end cannot be before the start.")
    if not owner_unit.is_active:
        errors["owner_unit"] = _("Choose an active unit.")
    if errors:
        raise InvalidInput(fields=errors)
    budget = _money(budget, "budget")
    weight = _money(weight, "weight", required=False)
    if parent is not None:
        _in_scope(actor, parent, "managed")
        if not cell.is_within(parent.cell):
            raise InvalidInput(
                fields={"cell": _("A sub-project serves its parent's area or a part of it.")}
            )
        if parent.progress_updates.exists():
            raise Conflict(
                _("Progress of this project is reported directly; it cannot get sub-projects.")
            )
        _lock_root(parent)
    if not any(cell.is_within(c) for c in _managed_cells(actor)):
        raise NotFound(_("Grid not found."))
    project = LivelihoodProject.objects.create(
        parent=parent,
        title=title,
        description=(description or "").strip(),
        cell=cell,
        owner_unit=owner_unit,
        budget=budget,
        weight=weight,
        start_date=start_date,
        planned_end=planned_end,
        created_by=actor,
    )
    if parent is not None:
        _recompute_ancestors(project)
    record_audit(
        actor=actor,
        action="create_project",
        obj=project,
        detail={
            "title": title,
            "cell": cell.code,
            "owner_unit": owner_unit.code,
            "budget": str(budget),
            "weight": str(weight) if weight is not None else None,
            "parent": parent.pk if parent else None,
        },
    )
    return project


def _managed_cells(actor) -> list[GridCell]:
    return [a.cell for a in active_assignments(actor, Perm.MANAGE_COMMUNITY) if a.cell]


def _lock_root(project: LivelihoodProject) -> LivelihoodProject:
    """Lock the tree's root row: changes anywhere in one tree take turns (SQLite's write lock
    does the same there)."""
    chain = queries.ancestors(project)
    root = chain[-1] if chain else project
    return LivelihoodProject.objects.select_for_update().get(pk=root.pk)


def _recompute_ancestors(project: LivelihoodProject) -> None:
    node = project
    while node.parent_id is not None:
        parent = LivelihoodProject.objects.get(pk=node.parent_id)
        parts = [
            (c.progress, c.effective_weight)
            for c in LivelihoodProject.objects.filter(parent=parent).only(
                "progress", "weight", "budget"
            )
        ]
        value = weighted_progress(parts)
        if value != parent.progress:
            # .update() leaves updated_at alone; set it: the parent did change.
            LivelihoodProject.objects.filter(pk=parent.pk).update(
                progress=value, updated_at=timezone.now()
            )
        node = parent


@transaction.atomic
def report_progress(
    project: LivelihoodProject,
    *,
    progress,
    note: str,
    actor: User,
    photos: Sequence = (),
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> tuple[ProgressUpdate, bool]:
    """进度更新: the owner reports how far a (sub-)project is, with a note and photos. Kept as a
    new history row; the parents' progress follows. A retry with the same key returns the first
    update; returns (update, created)."""
    now = _now(now)
    _in_scope(actor, project, "progress")
    if idempotency_key:
        first = project.progress_updates.filter(idempotency_key=idempotency_key).first()
        if first is not None:
            return first, False
    try:
        value = Decimal(str(progress))
    except (InvalidOperation, ValueError):
        value = Decimal("-1")
    errors = {}
    if not value.is_finite() or not Decimal("0") <= value <= Decimal("100"):
        errors["progress"] = _("Enter a percentage from 0 to 100.")
    note = (note or "").strip()
    if not note or len(note) > NOTE_MAX:
        errors["note"] = _("Say what was done (at most 2000 characters).")
    if errors:
        raise InvalidInput(fields=errors)
    _check_photos(photos)
    _lock_root(project)
    project = LivelihoodProject.objects.get(pk=project.pk)
    if project.children.exists():
        raise Conflict(
            _("This project's progress is computed from its sub-projects; report on those.")
        )
    if project.state in (ProjectState.DONE, ProjectState.STOPPED):
        raise Conflict(
            _("The project is “%(state)s”; restart it before reporting progress."),
            state=project.get_state_display(),
        )
    value = value.quantize(Decimal("0.01"))
    try:
        with transaction.atomic():  # a savepoint: a concurrent retry may win the key
            update = ProgressUpdate.objects.create(
                project=project,
                progress=value,
                previous=project.progress,
                note=note,
                actor=actor,
                actor_name=str(actor),
                occurred_at=now,
                idempotency_key=idempotency_key or None,
            )
    except IntegrityError:
        first = project.progress_updates.filter(idempotency_key=idempotency_key).first()
        if first is None:
            raise
        return first, False
    fields = {"progress": value, "updated_at": now}
    if project.state == ProjectState.PLANNED and value > 0:
        fields["state"] = ProjectState.IN_PROGRESS  # work reported: it has started
    LivelihoodProject.objects.filter(pk=project.pk).update(**fields)
    _recompute_ancestors(project)
    _save_photos(project, photos, actor=actor, update=update)
    record_audit(
        actor=actor,
        action="report_progress",
        obj=project,
        detail={"from": str(project.progress), "to": str(value), "photos": len(photos)},
    )
    return update, True


@transaction.atomic
def change_project_state(
    project: LivelihoodProject, *, to: str, actor: User, reason: str = ""
) -> LivelihoodProject:
    """开工 / 完工 / 停工 / 复工: move the project's state along STATE_TRANSITIONS. Done needs
    100 %; stopping needs a reason (it is shown publicly)."""
    _in_scope(actor, project, "progress")
    project = _lock_root(project) if project.parent_id is None else project
    project = LivelihoodProject.objects.get(pk=project.pk)
    if to not in STATE_TRANSITIONS.get(project.state, set()):
        raise Conflict(
            _("The project cannot go from “%(before)s” to “%(after)s”."),
            before=project.get_state_display(),
            after=ProjectState(to).label if to in ProjectState.values else to,
        )
    if to == ProjectState.DONE and project.progress < 100:
        raise Conflict(_("A project is done at 100 % progress."))
    reason = (reason or "").strip()
    if to == ProjectState.STOPPED and not reason:
        raise InvalidInput(fields={"reason": _("Say why the project stops.")})
    before = project.state
    won = LivelihoodProject.objects.filter(pk=project.pk, state=before).update(
        state=to, updated_at=timezone.now()
    )
    if won != 1:
        raise Conflict()
    record_audit(
        actor=actor,
        action="change_project_state",
        obj=project,
        detail={"from": before, "to": to},
        reason=reason,
    )
    project.refresh_from_db()
    return project


@transaction.atomic
def add_milestone(
    project: LivelihoodProject, *, title: str, due_date: date | None, actor: User
) -> Milestone:
    """A step the project should reach (招标, 开工, 验收…), with its due date."""
    _in_scope(actor, project, "progress")
    title = (title or "").strip()
    if not title or len(title) > 200:
        raise InvalidInput(fields={"title": _("Name the milestone (at most 200 characters).")})
    milestone = Milestone.objects.create(project=project, title=title, due_date=due_date)
    record_audit(
        actor=actor,
        action="add_milestone",
        obj=project,
        detail={"milestone": milestone.pk, "title": title, "due": str(due_date or "")},
    )
    return milestone


@transaction.atomic
def reach_milestone(milestone: Milestone, *, done_on: date, actor: User) -> Milestone:
    """The milestone was reached on `done_on` (once)."""
    _in_scope(actor, milestone.project, "progress")
    if done_on > timezone.localdate():
        raise InvalidInput(fields={"done_on": _("The date cannot be in the future.")})
    won = Milestone.objects.filter(pk=milestone.pk, done_on__isnull=True).update(done_on=done_on)
    if won != 1:
        raise Conflict(_("This milestone is already reached."))
    record_audit(
        actor=actor,
        action="reach_milestone",
        obj=milestone.project,
        detail={"milestone": milestone.pk, "done_on": str(done_on)},
    )
    milestone.refresh_from_db()
    return milestone


# --- 人大代表监督 -------------------------------------------------------------------------------


def _supervise(project, *, actor, kind, now, photos=(), **fields) -> SupervisionRecord:
    _in_scope(actor, project, "supervised")
    _check_photos(photos)
    record = SupervisionRecord.objects.create(
        project=project,
        kind=kind,
        deputy=actor,
        deputy_name=str(actor),
        occurred_at=_now(now),
        **fields,
    )
    _save_photos(project, photos, actor=actor, record=record)
    record_audit(
        actor=actor,
        action=f"supervise_project_{kind}",
        obj=project,
        detail={"record": record.pk, "rating": fields.get("rating"), "photos": len(photos)},
    )
    return record


def _text(text: str, field: str, *, required: bool = True) -> str:
    text = (text or "").strip()
    if (required and not text) or len(text) > NOTE_MAX:
        raise InvalidInput(fields={field: _("Write a few words (at most 2000 characters).")})
    return text


@transaction.atomic
def comment_as_deputy(
    project: LivelihoodProject, *, text: str, actor: User, now: datetime | None = None
) -> SupervisionRecord:
    """代表意见: a deputy's comment on the project, shown publicly with their name."""
    text = _text(text, "text")
    return _supervise(project, actor=actor, kind=SupervisionKind.COMMENT, now=now, text=text)


@transaction.atomic
def rate_project(
    project: LivelihoodProject,
    *,
    rating: int,
    text: str = "",
    actor: User,
    now: datetime | None = None,
) -> SupervisionRecord:
    """代表评议: a rating from 1 to 5, with an optional comment."""
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise InvalidInput(fields={"rating": _("Rate from 1 to 5.")})
    text = _text(text, "text", required=False)
    return _supervise(
        project, actor=actor, kind=SupervisionKind.RATING, now=now, rating=rating, text=text
    )


@transaction.atomic
def record_site_visit(
    project: LivelihoodProject,
    *,
    visit_date: date,
    findings: str,
    actor: User,
    photos: Sequence = (),
    now: datetime | None = None,
) -> SupervisionRecord:
    """实地视察: the deputy went to the site on `visit_date` and found `findings`."""
    if visit_date is None or visit_date > timezone.localdate(_now(now)):
        raise InvalidInput(
            fields={"visit_date": _("Give the day of the visit (not a future one).")}
        )
    findings = _text(findings, "findings")
    return _supervise(
        project,
        actor=actor,
        kind=SupervisionKind.SITE_VISIT,
        now=now,
        photos=photos,
        visit_date=visit_date,
        text=findings,
    )


# --- 码上议: public comments ----------------------------------------------------------------------


@transaction.atomic
def submit_public_comment(
    project: LivelihoodProject,
    *,
    body: str,
    phone: str = "",
    idempotency_key: str,
    now: datetime | None = None,
) -> tuple[PublicComment, bool]:
    """码上议: a resident's comment through the project's QR code, waiting for review. The
    phone, if left, is for a reply only: encrypted, never shown. One comment per form key."""
    key = (idempotency_key or "").strip()
    if not _KEY.match(key):
        raise InvalidInput(fields={"key": _("This form has expired; reload the page.")})
    first = PublicComment.objects.filter(idempotency_key=key).first()
    if first is not None:
        if first.project_id != project.pk:
            raise Conflict(_("This form has expired; reload the page."))
        return first, False
    body = (body or "").strip()
    phone = re.sub(r"[\s-]", "", phone or "")
    errors = {}
    if not COMMENT_MIN <= len(body) <= COMMENT_MAX:
        errors["body"] = _("Write between 5 and 500 characters.")
    if phone and not _PHONE.match(phone):
        errors["phone"] = _("Enter an 11-digit mobile number, or leave it empty.")
    if errors:
        raise InvalidInput(fields=errors)
    try:
        with transaction.atomic():  # a savepoint: a double submit may win the key
            comment = PublicComment.objects.create(
                project=project,
                body=body,
                phone=phone,
                idempotency_key=key,
                created_at=_now(now),
            )
    except IntegrityError:
        first = PublicComment.objects.filter(idempotency_key=key, project=project).first()
        if first is None:
            raise
        return first, False
    record_audit(
        actor=None,
        action="submit_public_comment",
        obj=comment,
        detail={"project": project.pk, "with_phone": bool(phone)},
    )
    return comment, True


def _moderate(comment: PublicComment, *, to: str, actor: User, reason: str) -> PublicComment:
    if not PublicComment.objects.filter(
        pk=comment.pk, project__in=queries.managed_projects(actor)
    ).exists():
        raise NotFound()
    before = comment.status
    if before == to:
        raise Conflict(_("This comment is already “%(state)s”."), state=CommentStatus(to).label)
    won = PublicComment.objects.filter(pk=comment.pk, status=before).update(
        status=to, moderated_by=actor, moderated_at=timezone.now()
    )
    if won != 1:
        raise Conflict()
    record_audit(
        actor=actor,
        action=f"moderate_comment_{to}",
        obj=comment,
        detail={"project": comment.project_id, "from": before, "to": to},
        reason=reason,
    )
    comment.refresh_from_db()
    return comment


@transaction.atomic
def approve_comment(comment: PublicComment, *, actor: User) -> PublicComment:
    """审核通过: the comment shows on the project's public page."""
    return _moderate(comment, to=CommentStatus.APPROVED, actor=actor, reason="")


@transaction.atomic
def hide_comment(comment: PublicComment, *, actor: User, reason: str = "") -> PublicComment:
    """隐藏: the comment stays on record for staff but the public no longer sees it."""
    return _moderate(comment, to=CommentStatus.HIDDEN, actor=actor, reason=(reason or "").strip())
