"""The case (诉求/工单) and its closed loop: 发现 → 上报 → 分派 → 处置 → 反馈 → 评价.

Every move is named in `TRANSITIONS`; `actions.py` is the only code that applies them.
Deadlines are stored as timestamps; colours are computed (see `deadlines.py`).
"""

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from wangge.lib.crypto import EncryptedTextField, phone_digits


class CaseState(models.TextChoices):
    NEW = "new", _("New")  # 待受理
    DISPATCHED = "dispatched", _("Dispatched")  # 已派单
    ACCEPTED = "accepted", _("Accepted")  # 已接单
    IN_PROGRESS = "in_progress", _("In progress")  # 处置中
    PAUSED = "paused", _("Paused")  # 挂起
    RETURNED = "returned", _("Returned")  # 退单
    RESOLVED = "resolved", _("Resolved")  # 已办结
    RATED = "rated", _("Rated")  # 已评价
    REOPENED = "reopened", _("Reopened")  # 重办
    CLOSED = "closed", _("Closed")  # 已归档


S = CaseState
# (action, from state) → to state. The whole loop on one screen; nothing else moves a case.
TRANSITIONS: dict[tuple[str, str], str] = {
    ("dispatch", S.NEW): S.DISPATCHED,  # 派单
    ("dispatch", S.RETURNED): S.DISPATCHED,  # re-dispatch or arbitrate after 退单
    ("dispatch", S.REOPENED): S.DISPATCHED,  # 重办 sent to another unit
    ("return", S.DISPATCHED): S.RETURNED,  # 退单, with a reason
    ("return", S.ACCEPTED): S.RETURNED,
    ("accept", S.DISPATCHED): S.ACCEPTED,  # 签收
    ("accept", S.REOPENED): S.ACCEPTED,
    ("start", S.ACCEPTED): S.IN_PROGRESS,  # 处置
    ("pause", S.ACCEPTED): S.PAUSED,  # 挂起: the clock stops
    ("pause", S.IN_PROGRESS): S.PAUSED,
    ("resume", S.PAUSED): S.IN_PROGRESS,
    ("resolve", S.ACCEPTED): S.RESOLVED,  # 办结
    ("resolve", S.IN_PROGRESS): S.RESOLVED,
    ("rate", S.RESOLVED): S.RATED,  # 评价
    ("reopen", S.RESOLVED): S.REOPENED,  # 不满意 → 重办 under 督办
    ("reopen", S.RATED): S.REOPENED,
    ("close", S.RATED): S.CLOSED,  # 归档
    ("close", S.RESOLVED): S.CLOSED,  # rating window over
    ("close", S.NEW): S.CLOSED,  # invalid or duplicate, with a reason
    ("escalate", S.NEW): S.NEW,  # 上报 to the parent level
    ("escalate", S.DISPATCHED): S.NEW,
    ("escalate", S.ACCEPTED): S.NEW,
    ("escalate", S.IN_PROGRESS): S.NEW,
}
# States in which a case counts as open work with a running clock.
OPEN_STATES = (S.NEW, S.DISPATCHED, S.ACCEPTED, S.IN_PROGRESS, S.RETURNED, S.REOPENED)
CLOCK_STATES = (S.DISPATCHED, S.ACCEPTED, S.IN_PROGRESS, S.REOPENED)
DONE_STATES = (S.RESOLVED, S.RATED, S.CLOSED)


class Channel(models.TextChoices):
    HOTLINE = "hotline", _("12345 hotline")
    WEB = "web", _("Web / H5")
    QR = "qr", _("QR code")
    PATROL = "patrol", _("Grid worker patrol")
    SENSOR = "sensor", _("System / sensor")
    IMPORT = "import", _("Import")
    OPEN311 = "open311", _("Open311")
    PROACTIVE = "proactive", _("Proactive (未诉先办)")  # raised by the centre from a hotspot


class Priority(models.TextChoices):
    NORMAL = "normal", _("Normal")
    URGENT = "urgent", _("Urgent")
    EMERGENCY = "emergency", _("Emergency")


class Outcome(models.TextChoices):
    SOLVED = "solved", _("Solved")  # 已解决
    PARTLY = "partly", _("Partly solved")  # 部分解决
    NOT_OURS = "not_ours", _("Not this unit's duty")  # 非本单位职责
    EXPLAINED = "explained", _("Explained")  # 已解释说明


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")
    BASICALLY = "basically", _("Basically satisfied")
    UNSATISFIED = "unsatisfied", _("Unsatisfied")


class LocationFlag(models.TextChoices):
    OK = "ok", _("Located")
    OUTSIDE = "outside", _("Outside every grid")
    AMBIGUOUS = "ambiguous", _("Near a grid boundary")
    NONE = "none", _("No location given")


class TimeUnit(models.TextChoices):
    WORK_HOURS = "work_hours", _("working hours")
    WORK_DAYS = "work_days", _("working days")
    # Round the clock: an alarm at 3 a.m. on a holiday is answered in minutes (分钟级响应).
    MINUTES = "minutes", _("minutes, round the clock")


class Category(models.Model):
    """A case category (一级/二级/三级), owned by the unit that handles it."""

    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("code"), max_length=40, unique=True)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    owner = models.ForeignKey(
        "accounts.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="categories",
        verbose_name=_("owning unit"),
    )
    # 小事不出网格: grid-level categories go to the on-duty grid worker of the located grid.
    grid_level = models.BooleanField(_("handled at grid level"), default=False)
    # Raised by devices and the care sweep (烟感报警, 未按时报平安): not offered to reporters.
    raised_by_system = models.BooleanField(_("raised by the system"), default=False)
    # Cases of a public category may show on residents' pages (their title, never who); care
    # (关爱服务) and device categories never do. Not public unless marked.
    is_public = models.BooleanField(_("shown on public pages"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["code"]

    def __str__(self):
        return self.name

    def lineage(self) -> list["Category"]:
        """This category and its ancestors, nearest first."""
        chain, node = [], self
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain


class DeadlinePolicy(models.Model):
    """Limits to accept (签收) and to resolve (办结) for a category (or all) and a priority."""

    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, null=True, blank=True, related_name="policies"
    )
    priority = models.CharField(_("priority"), max_length=20, choices=Priority.choices)
    accept_limit = models.PositiveIntegerField(_("limit to accept"))
    accept_unit = models.CharField(max_length=12, choices=TimeUnit.choices)
    resolve_limit = models.PositiveIntegerField(_("limit to resolve"))
    resolve_unit = models.CharField(max_length=12, choices=TimeUnit.choices)

    class Meta:
        verbose_name = _("deadline policy")
        verbose_name_plural = _("deadline policies")
        constraints = [
            models.UniqueConstraint(fields=["category", "priority"], name="deadlinepolicy_unique"),
        ]


# Unambiguous characters only: residents read the code out over the phone. 32 of them, so a
# random byte modulo 32 picks each one without bias.
TRACKING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_tracking_code() -> str:
    return "".join(TRACKING_ALPHABET[b % 32] for b in secrets.token_bytes(10))


class Case(models.Model):
    """诉求/工单: one resident request or patrol finding, from report to archive."""

    tracking_code = models.CharField(
        _("tracking code"), max_length=16, unique=True, default=new_tracking_code
    )
    state = models.CharField(
        _("state"), max_length=20, choices=CaseState.choices, default=CaseState.NEW
    )
    # Compare-and-set token: every move bumps it, so of two concurrent moves one wins.
    version = models.PositiveIntegerField(default=1)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    external_ref = models.CharField(_("external reference"), max_length=100, blank=True)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, null=True, blank=True, related_name="cases"
    )
    priority = models.CharField(
        _("priority"), max_length=20, choices=Priority.choices, default=Priority.NORMAL
    )

    # Reporter: may stay anonymous; phone encrypted at rest, shown masked.
    anonymous = models.BooleanField(_("anonymous"), default=False)
    reporter_name = models.CharField(_("reporter name"), max_length=50, blank=True)
    reporter_phone = EncryptedTextField(_("reporter phone"), blank=True)
    # A keyed hash of the reporter's phone (its digits): 我的数据 finds the reads of it. NULL
    # without a phone (intake writes a NULL as a literal, not one more parameter).
    reporter_phone_index = models.CharField(max_length=32, null=True, blank=True, editable=False)
    reporter_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reported_cases",
    )

    # Where: the located grid (smallest cell) and the level now responsible.
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    cell = models.ForeignKey(
        "grids.GridCell",
        on_delete=models.PROTECT,
        related_name="cases",
        verbose_name=_("grid"),
    )
    handling_cell = models.ForeignKey(
        "grids.GridCell",
        on_delete=models.PROTECT,
        related_name="handled_cases",
        verbose_name=_("handling level"),
    )
    location_flag = models.CharField(
        max_length=12, choices=LocationFlag.choices, default=LocationFlag.OK
    )
    location_candidates = models.JSONField(default=list, blank=True)

    # Who: the lead unit (主办) and, for grid-level work, the grid worker.
    unit = models.ForeignKey(
        "accounts.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("lead unit"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_cases",
        verbose_name=_("assignee"),
    )
    escalation_count = models.PositiveSmallIntegerField(default=0)
    # 未诉先办: a repeat of a problem already reported points at the master case; its reporter
    # is told whenever the master moves.
    master = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="duplicates",
        verbose_name=_("master case"),
    )
    # 智能分派 has yet to look at it: intake answers at once and the worker routes it.
    routing_pending = models.BooleanField(default=False)

    # Clock: facts only. Colours are computed from these.
    reported_at = models.DateTimeField(_("reported at"), db_index=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    accept_due_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    clock_started_at = models.DateTimeField(null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True, db_index=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Outcome (handler) and satisfaction (resident) are separate judgements.
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    resolution_note = models.TextField(_("resolution"), blank=True)
    # Level of the handling cell when resolved: grid-level closure (小事不出网格) is counted on it.
    resolved_level = models.PositiveSmallIntegerField(null=True, blank=True)
    satisfaction = models.CharField(
        _("satisfaction"), max_length=20, choices=Satisfaction.choices, blank=True
    )
    rating_comment = models.TextField(blank=True)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-reported_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="case_unique_intake_key",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "due_at"], name="case_state_due_idx"),
            models.Index(fields=["unit", "state"], name="case_unit_state_idx"),
            models.Index(
                fields=["reported_at"],
                condition=models.Q(routing_pending=True),
                name="case_routing_pending_idx",
            ),
            models.Index(
                fields=["reporter_phone_index"],
                condition=models.Q(reporter_phone_index__isnull=False),
                name="case_reporter_phone_idx",
            ),
        ]

    # Keyed hashes beside encrypted fields (recomputed by `wangge pii rotate`), each of the
    # value as `phone_digits` writes it, so "138-1234-5678" and "13812345678" are one phone.
    BLIND_INDEXES = {"reporter_phone_index": "reporter_phone"}
    BLIND_INDEX_NORMALISERS = {"reporter_phone_index": phone_digits}

    def __str__(self):
        return f"{self.tracking_code} {self.title}"


class EventKind(models.TextChoices):
    REPORT = "report", _("Reported")
    DISPATCH = "dispatch", _("Dispatched")
    RETURN = "return", _("Returned")
    ACCEPT = "accept", _("Accepted")
    START = "start", _("Handling started")
    PAUSE = "pause", _("Paused")
    RESUME = "resume", _("Resumed")
    RESOLVE = "resolve", _("Resolved")
    RATE = "rate", _("Rated")
    REOPEN = "reopen", _("Reopened")
    CLOSE = "close", _("Closed")
    ESCALATE = "escalate", _("Escalated")
    JOINT = "joint", _("Joint handling")
    MERGE = "merge", _("Merged into a master case")
    RELOCATE = "relocate", _("Located")
    TASK_DONE = "task_done", _("Joint task finished")
    SUPERVISE = "supervise", _("Supervision opened")
    SUPERVISION_ANSWER = "supervision_answer", _("Supervision answered")
    INSTRUCT = "instruct", _("Leader's instruction")
    INSTRUCTION_RESULT = "instruction_result", _("Instruction carried out")
    OVERDUE_ACCEPT = "overdue_accept", _("Not accepted in time")
    OVERDUE = "overdue", _("Overdue")
    WARN = "warn", _("Deadline near")
    NOTE = "note", _("Note")
    REPLY = "reply", _("Reply to the reporter")
    REVEAL = "reveal", _("Contact revealed")


class Audience(models.TextChoices):
    PUBLIC = "public", _("Public")
    INTERNAL = "internal", _("Internal")


class CaseEvent(models.Model):
    """One line of the case's timeline, written in the same transaction as the change."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=30, choices=EventKind.choices)
    audience = models.CharField(max_length=10, choices=Audience.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150)
    occurred_at = models.DateTimeField(db_index=True)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    reason = models.TextField(blank=True)
    # Public wording for the tracking page (never staff notes); internal details in data.
    public_text = models.CharField(max_length=300, blank=True)
    data = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    # Sweep events are recorded once per deadline.
    dedupe_key = models.CharField(max_length=120, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ["occurred_at", "id"]


class Attachment(models.Model):
    """A photo or document on a case, with type and size checked at upload."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(upload_to="cases/%Y/%m/")
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)
    is_public = models.BooleanField(default=False)
    # A phone that sends a photo again after losing the signal names it with the same key.
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["case", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="attachment_unique_key",
            ),
        ]


class SavedView(models.Model):
    """A dispatcher's named queue filter (the query string of the queue page)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(_("name"), max_length=60)
    query = models.CharField(_("filters"), max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="savedview_unique_name"),
        ]

    def __str__(self):
        return self.name


class TaskRole(models.TextChoices):
    LEAD = "lead", _("Lead unit")  # 主办
    HELPER = "helper", _("Helping unit")  # 协办


class CaseTask(models.Model):
    """Joint handling (联动处置): each unit's own part of a case, with its own deadline."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="tasks")
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="tasks")
    role = models.CharField(max_length=10, choices=TaskRole.choices)
    due_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "unit"], name="casetask_unique_unit"),
        ]


class SupervisionLevel(models.TextChoices):
    COMMAND_CENTRE = "command_centre", _("Command centre supervision")  # 指挥中心督办
    DISCIPLINE = "discipline", _("Discipline commission supervision")  # 纪委督办


class SupervisionState(models.TextChoices):
    OPEN = "open", _("Open")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Closed")


class SupervisionOrder(models.Model):
    """督办: a demand on a case or a unit, with a deadline, that the unit must answer."""

    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, null=True, blank=True, related_name="supervisions"
    )
    unit = models.ForeignKey(
        "accounts.Unit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    level = models.CharField(max_length=20, choices=SupervisionLevel.choices)
    demand = models.TextField(_("demand"))
    due_at = models.DateTimeField(_("answer by"))
    state = models.CharField(
        max_length=10, choices=SupervisionState.choices, default=SupervisionState.OPEN
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField()
    answer = models.TextField(blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    # An automatic order is opened once per case deadline.
    dedupe_key = models.CharField(max_length=120, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("supervision order")
        verbose_name_plural = _("supervision orders")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(case__isnull=False) | models.Q(unit__isnull=False),
                name="supervision_has_target",
            ),
        ]


class LeaderInstruction(models.Model):
    """批办督评: a leader's instruction on a case, tracked to its result."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="instructions")
    leader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("instruction"))
    given_at = models.DateTimeField()
    result = models.TextField(blank=True)
    result_at = models.DateTimeField(null=True, blank=True)


class NotificationState(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")  # retries exhausted; visible, never dropped


class Notification(models.Model):
    """Outbox: written with the change, delivered by the worker after commit, retried on failure."""

    kind = models.CharField(max_length=40)
    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, null=True, blank=True, related_name="notifications"
    )
    unit = models.ForeignKey(
        "accounts.Unit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    payload = models.JSONField(default=dict)
    state = models.CharField(
        max_length=10, choices=NotificationState.choices, default=NotificationState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    dedupe_key = models.CharField(max_length=120, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["id"]
