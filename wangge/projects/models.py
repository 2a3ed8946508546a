"""民生实事 (livelihood projects): a tree of projects and sub-projects with milestones, an
append-only progress history, photos, 人大代表 supervision and moderated public comments (码上议).

A leaf's progress is set by its owner (a `ProgressUpdate` row each time); a parent's progress is
the weighted progress of its children, recomputed in the same transaction as every change below
it, so the stored `progress` column is a cache that `queries.computed_progress` can check.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from wangge.lib.crypto import EncryptedTextField


class ProjectState(models.TextChoices):
    PLANNED = "planned", _("Planned")
    IN_PROGRESS = "in_progress", _("Under way")
    DONE = "done", _("Done")
    STOPPED = "stopped", _("Stopped")


# Which state changes the owner may make; progress updates start a planned project by themselves.
S = ProjectState
STATE_TRANSITIONS: dict[str, set[str]] = {
    S.PLANNED: {S.IN_PROGRESS, S.STOPPED},
    S.IN_PROGRESS: {S.DONE, S.STOPPED},
    S.STOPPED: {S.IN_PROGRESS},
    S.DONE: {S.IN_PROGRESS},  # reopened when the work turns out unfinished
}


class LivelihoodProject(models.Model):
    """A 民生实事 project or sub-project, serving a grid node and owned by a unit."""

    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("part of"),
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    cell = models.ForeignKey(
        "grids.GridCell", on_delete=models.PROTECT, related_name="+", verbose_name=_("serves")
    )
    owner_unit = models.ForeignKey(
        "accounts.Unit",
        on_delete=models.PROTECT,
        related_name="livelihood_projects",
        verbose_name=_("owner unit"),
    )
    budget = models.DecimalField(
        _("budget (yuan)"),
        max_digits=14,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    # How much this sub-project counts in its parent's progress; empty: its budget.
    weight = models.DecimalField(
        _("weight"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    start_date = models.DateField(_("start"), null=True, blank=True)
    planned_end = models.DateField(_("planned end"), null=True, blank=True)
    state = models.CharField(
        _("state"), max_length=20, choices=ProjectState.choices, default=ProjectState.PLANNED
    )
    # Percent 0–100. A leaf's is its last ProgressUpdate; a parent's is recomputed from its
    # children in the transaction that changes one of them (never set by hand).
    progress = models.DecimalField(
        _("progress (%)"), max_digits=5, decimal_places=2, default=Decimal("0")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("livelihood project")
        verbose_name_plural = _("livelihood projects")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__gte=0) & models.Q(progress__lte=100),
                name="project_progress_percent",
            ),
            models.CheckConstraint(
                condition=models.Q(budget__gte=0), name="project_budget_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(weight__isnull=True) | models.Q(weight__gte=0),
                name="project_weight_not_negative",
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def effective_weight(self) -> Decimal:
        return self.weight if self.weight is not None else self.budget


class Milestone(models.Model):
    """A dated step of a project (立项, 招标, 开工, 验收…)."""

    project = models.ForeignKey(
        LivelihoodProject, on_delete=models.CASCADE, related_name="milestones"
    )
    title = models.CharField(_("title"), max_length=200)
    due_date = models.DateField(_("due"), null=True, blank=True)
    done_on = models.DateField(_("reached on"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")
        ordering = ["due_date", "id"]

    def __str__(self):
        return self.title


class ProgressUpdate(models.Model):
    """One progress report on a leaf project: who, when, how far, what was done. Never edited;
    a correction is a new row."""

    project = models.ForeignKey(
        LivelihoodProject, on_delete=models.PROTECT, related_name="progress_updates"
    )
    progress = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    previous = models.DecimalField(max_digits=5, decimal_places=2)
    note = models.TextField(_("note"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150)
    occurred_at = models.DateTimeField()
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="progress_update_unique_key",
            ),
        ]


class SupervisionKind(models.TextChoices):
    COMMENT = "comment", _("Deputy's comment")
    RATING = "rating", _("Rating")
    SITE_VISIT = "site_visit", _("Site visit")


class SupervisionRecord(models.Model):
    """人大代表监督: a deputy's comment, rating (1–5) or site visit (date, findings, photos).
    Public: deputies are public officials and act in that capacity."""

    project = models.ForeignKey(
        LivelihoodProject, on_delete=models.PROTECT, related_name="supervision_records"
    )
    kind = models.CharField(max_length=20, choices=SupervisionKind.choices)
    deputy = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    deputy_name = models.CharField(max_length=150)
    text = models.TextField(_("comment or findings"), blank=True)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    visit_date = models.DateField(null=True, blank=True)
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True)
                | (models.Q(rating__gte=1) & models.Q(rating__lte=5)),
                name="supervision_rating_1_to_5",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="rating") | models.Q(rating__isnull=False),
                name="supervision_rating_has_value",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="site_visit") | models.Q(visit_date__isnull=False),
                name="supervision_visit_has_date",
            ),
        ]


class ProjectPhoto(models.Model):
    """A photo of the work, from a progress update or a site visit; shown on the public page."""

    project = models.ForeignKey(LivelihoodProject, on_delete=models.PROTECT, related_name="photos")
    update = models.ForeignKey(
        ProgressUpdate, on_delete=models.PROTECT, null=True, blank=True, related_name="photos"
    )
    record = models.ForeignKey(
        SupervisionRecord, on_delete=models.PROTECT, null=True, blank=True, related_name="photos"
    )
    file = models.FileField(upload_to="projects/%Y/%m/")
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]


class CommentStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for review")
    APPROVED = "approved", _("Shown")
    HIDDEN = "hidden", _("Hidden")


class PublicComment(models.Model):
    """码上议: what a resident says about a project through its QR code. Shown only once staff
    approve it; a phone left for a reply is stored encrypted and never shown."""

    project = models.ForeignKey(
        LivelihoodProject, on_delete=models.PROTECT, related_name="public_comments"
    )
    body = models.TextField(_("comment"))
    phone = EncryptedTextField(_("phone"), blank=True)
    status = models.CharField(
        max_length=20, choices=CommentStatus.choices, default=CommentStatus.PENDING
    )
    # One per form: a double submit or a retry brings back the first comment.
    idempotency_key = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField()
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    moderated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "status"], name="comment_project_status_idx")]


def weighted_progress(parts: list[tuple[Decimal, Decimal]]) -> Decimal:
    """A parent's progress from its children's (progress, weight): the weighted mean, to the
    hundredth of a percent; children that all weigh nothing count equally."""
    if not parts:
        return Decimal("0")
    total = sum((w for _p, w in parts), Decimal("0"))
    if total > 0:
        value = sum((p * w for p, w in parts), Decimal("0")) / total
    else:
        value = sum((p for p, _w in parts), Decimal("0")) / len(parts)
    return value.quantize(Decimal("0.01"))
