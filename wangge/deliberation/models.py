"""四议两公开, 小院议事厅 and 党务村务财务公开.

A village matter (`Matter`) passes six steps in one order, named in `TRANSITIONS`; `actions.py`
is the only code that applies them. Each matter is one round: a failed vote ends the round
(`rejected`) and the matter may be proposed again as a new round (`Matter.previous`), which
starts again from 党支部提议. Quorum and pass thresholds are rows of `MeetingRule` (seeded by a
data migration from the law, editable in the admin), copied onto each step when recorded.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class MatterState(models.TextChoices):
    NEW = "new", _("Awaiting the branch's proposal")
    PROPOSED = "proposed", _("Proposed by the party branch")  # 党支部提议
    DISCUSSED = "discussed", _("Discussed by the two committees")  # 两委商议
    REVIEWED = "reviewed", _("Reviewed by the party members' assembly")  # 党员大会审议
    RESOLVED = "resolved", _("Resolved by the villagers")  # 村民(代表)会议决议
    RESOLUTION_PUBLIC = "resolution_public", _("Resolution made public")  # 决议公开
    COMPLETED = "completed", _("Result made public")  # 实施结果公开
    REJECTED = "rejected", _("Rejected by a vote")


class StepKind(models.TextChoices):
    PROPOSE = "propose", _("Party branch proposal")  # 党支部提议
    DISCUSS = "discuss", _("Two committees' discussion")  # 两委商议
    REVIEW = "review", _("Party members' assembly review")  # 党员大会审议
    RESOLVE = "resolve", _("Villagers' (representatives') meeting resolution")  # 村民(代表)会议决议
    PUBLISH_RESOLUTION = "publish_resolution", _("Resolution made public")  # 决议公开
    PUBLISH_RESULT = "publish_result", _("Implementation result made public")  # 实施结果公开


class MeetingBody(models.TextChoices):
    BRANCH_COMMITTEE = "branch_committee", _("Party branch committee")  # 支委会
    TWO_COMMITTEES = "two_committees", _("Two committees (party branch and village committee)")
    PARTY_ASSEMBLY = "party_assembly", _("Party members' assembly")  # 党员大会
    VILLAGERS_MEETING = "villagers_meeting", _("Villagers' meeting")  # 村民会议
    REPRESENTATIVES_MEETING = "representatives_meeting", _("Villagers' representatives' meeting")


M, K, B = MatterState, StepKind, MeetingBody
# (step, state before) → state after. The whole sequence on one screen; nothing else moves a
# matter. A step that is not here for the matter's state is out of order, skipped or repeated.
TRANSITIONS: dict[tuple[str, str], str] = {
    (K.PROPOSE, M.NEW): M.PROPOSED,
    (K.DISCUSS, M.PROPOSED): M.DISCUSSED,
    (K.REVIEW, M.DISCUSSED): M.REVIEWED,
    (K.RESOLVE, M.REVIEWED): M.RESOLVED,
    (K.PUBLISH_RESOLUTION, M.RESOLVED): M.RESOLUTION_PUBLIC,
    (K.PUBLISH_RESULT, M.RESOLUTION_PUBLIC): M.COMPLETED,
}
# A recorded vote that fails ends the round here instead (the step is kept, with its vote).
FAILED_VOTE_STATE = M.REJECTED
# The bodies that may hold each meeting step; the first is the default.
STEP_BODIES: dict[str, tuple[str, ...]] = {
    K.PROPOSE: (B.BRANCH_COMMITTEE,),
    K.DISCUSS: (B.TWO_COMMITTEES,),
    K.REVIEW: (B.PARTY_ASSEMBLY,),
    K.RESOLVE: (B.REPRESENTATIVES_MEETING, B.VILLAGERS_MEETING),
}
# Steps whose vote must be recorded (the others may record one; if they do, it must pass).
VOTE_REQUIRED = frozenset({K.REVIEW, K.RESOLVE})
PUBLIC_STEPS = (K.PUBLISH_RESOLUTION, K.PUBLISH_RESULT)
STEP_ORDER = [step for step, _before in TRANSITIONS]


class MeetingRule(models.Model):
    """Quorum and pass thresholds of one meeting body, as data.

    Quorum: present/expected must exceed (strict) or reach the fraction. Pass: votes for /
    present must exceed (strict) or reach the fraction. Seeded values and their basis:
    村民代表会议 ≥ 2/3 of its members present (村民委员会组织法 art. 26, "三分之二以上" includes
    two thirds); 村民会议 > 1/2 of adult villagers (art. 22; the alternative of 2/3 of
    households is counted by entering households as expected and present); 党员大会 > 1/2 of
    party members; every decision > 1/2 of those present.
    """

    body = models.CharField(
        _("meeting body"), max_length=30, choices=MeetingBody.choices, unique=True
    )
    quorum_numerator = models.PositiveSmallIntegerField(_("quorum numerator"))
    quorum_denominator = models.PositiveSmallIntegerField(_("quorum denominator"))
    quorum_strict = models.BooleanField(_("quorum must be exceeded"), default=True)
    pass_numerator = models.PositiveSmallIntegerField(_("pass numerator"), default=1)
    pass_denominator = models.PositiveSmallIntegerField(_("pass denominator"), default=2)
    pass_strict = models.BooleanField(_("pass share must be exceeded"), default=True)
    basis = models.CharField(_("legal basis"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("meeting rule")
        verbose_name_plural = _("meeting rules")
        ordering = ["body"]

    def __str__(self):
        return MeetingBody(self.body).label

    def snapshot(self) -> dict:
        return {
            "body": self.body,
            "quorum": [self.quorum_numerator, self.quorum_denominator, self.quorum_strict],
            "pass": [self.pass_numerator, self.pass_denominator, self.pass_strict],
            "basis": self.basis,
        }


# The seeded rows (migration 0002), used when a body has no row (an emptied test database).
DEFAULT_RULES: dict[str, dict] = {
    B.BRANCH_COMMITTEE: {"quorum_numerator": 0, "quorum_denominator": 1, "quorum_strict": False},
    B.TWO_COMMITTEES: {"quorum_numerator": 0, "quorum_denominator": 1, "quorum_strict": False},
    B.PARTY_ASSEMBLY: {"quorum_numerator": 1, "quorum_denominator": 2, "quorum_strict": True},
    B.VILLAGERS_MEETING: {"quorum_numerator": 1, "quorum_denominator": 2, "quorum_strict": True},
    B.REPRESENTATIVES_MEETING: {
        "quorum_numerator": 2,
        "quorum_denominator": 3,
        "quorum_strict": False,
    },
}


def rule_for(body: str) -> MeetingRule:
    rule = MeetingRule.objects.filter(body=body).first()
    return rule if rule is not None else MeetingRule(body=body, **DEFAULT_RULES[body])


def meets(part: int, whole: int, numerator: int, denominator: int, strict: bool) -> bool:
    """part/whole > (or ≥) numerator/denominator, in whole numbers."""
    left, right = part * denominator, numerator * whole
    return left > right if strict else left >= right


class Matter(models.Model):
    """一事一议: one village matter in one round of 四议两公开."""

    village = models.ForeignKey(
        "grids.GridCell",
        on_delete=models.PROTECT,
        related_name="matters",
        verbose_name=_("village"),
    )
    title = models.CharField(_("title"), max_length=200)
    summary = models.TextField(_("summary"), blank=True)
    state = models.CharField(
        _("state"), max_length=20, choices=MatterState.choices, default=MatterState.NEW
    )
    # Compare-and-set token: every step bumps it, so of two clerks recording a step one wins.
    version = models.PositiveIntegerField(default=1)
    round = models.PositiveSmallIntegerField(_("round"), default=1)
    previous = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="next_round",
        verbose_name=_("previous round"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        verbose_name = _("village matter")
        verbose_name_plural = _("village matters")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.title

    @property
    def next_step(self) -> str | None:
        return next((step for step, before in TRANSITIONS if before == self.state), None)


class Step(models.Model):
    """One recorded step of a matter: a meeting (attendance, vote, minutes) or a publication."""

    matter = models.ForeignKey(Matter, on_delete=models.PROTECT, related_name="steps")
    kind = models.CharField(_("step"), max_length=30, choices=StepKind.choices)
    body = models.CharField(
        _("meeting body"), max_length=30, choices=MeetingBody.choices, blank=True
    )
    held_on = models.DateField(_("date"))
    expected = models.PositiveIntegerField(_("expected to attend"), null=True, blank=True)
    present = models.PositiveIntegerField(_("present"), null=True, blank=True)
    votes_for = models.PositiveIntegerField(_("votes for"), null=True, blank=True)
    votes_against = models.PositiveIntegerField(_("votes against"), null=True, blank=True)
    votes_abstain = models.PositiveIntegerField(_("abstentions"), null=True, blank=True)
    passed = models.BooleanField(_("passed"), null=True)
    rule = models.JSONField(default=dict, blank=True)  # the MeetingRule applied, as it was
    minutes = models.TextField(_("minutes"), blank=True)  # staff only
    public_text = models.TextField(_("public text"), blank=True)  # shown on the public page
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    recorded_by_name = models.CharField(max_length=100)
    recorded_at = models.DateTimeField(_("recorded"))

    class Meta:
        verbose_name = _("step")
        verbose_name_plural = _("steps")
        ordering = ["recorded_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["matter", "kind"], name="deliberation_step_once"),
        ]

    @property
    def is_public(self) -> bool:
        return self.kind in PUBLIC_STEPS


class StepAttachment(models.Model):
    """A scan of the minutes, a sign-in sheet or a photo of the notice board."""

    step = models.ForeignKey(Step, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(upload_to="deliberation/%Y/%m/")
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField(auto_now_add=True)


class CourtyardMeeting(models.Model):
    """小院议事厅: a light meeting in a courtyard: topic, who came, outcome, follow-up."""

    cell = models.ForeignKey(
        "grids.GridCell", on_delete=models.PROTECT, related_name="+", verbose_name=_("place")
    )
    held_on = models.DateField(_("date"))
    topic = models.CharField(_("topic"), max_length=200)
    participant_count = models.PositiveIntegerField(_("participants"))
    participant_names = models.TextField(_("participant names"), blank=True)  # staff only
    outcome = models.TextField(_("outcome"))
    follow_up = models.TextField(_("follow-up"), blank=True)
    case = models.ForeignKey(
        "cases.Case",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("follow-up case"),
    )
    version = models.PositiveIntegerField(default=1)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded"))

    class Meta:
        verbose_name = _("courtyard meeting")
        verbose_name_plural = _("courtyard meetings")
        ordering = ["-held_on", "-id"]

    def __str__(self):
        return self.topic


class DisclosureKind(models.TextChoices):
    PARTY = "party", _("Party affairs")  # 党务公开
    VILLAGE = "village", _("Village affairs")  # 村务公开
    FINANCE = "finance", _("Finance")  # 财务公开


# Periods: a year (2025), a half (2025-H1), a quarter (2025-Q1) or a month (2025-03).
PERIOD_PATTERN = r"^\d{4}(-(H[12]|Q[1-4]|0[1-9]|1[0-2]))?$"


class DisclosureItem(models.Model):
    """党务村务财务公开: one item on a village's board for a period. Drafts may change; a
    published item never does. A correction is a new item that supersedes it."""

    village = models.ForeignKey(
        "grids.GridCell",
        on_delete=models.PROTECT,
        related_name="disclosures",
        verbose_name=_("village"),
    )
    kind = models.CharField(_("type"), max_length=10, choices=DisclosureKind.choices)
    period = models.CharField(_("period"), max_length=7)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    # Finance only: the lines must add up to these (checked by actions before publishing).
    opening_balance = models.DecimalField(
        _("opening balance"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    total_income = models.DecimalField(
        _("total income"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    total_expense = models.DecimalField(
        _("total expense"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    closing_balance = models.DecimalField(
        _("closing balance"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    supersedes = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
        verbose_name=_("corrects"),
    )
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"))
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    published_by_name = models.CharField(max_length=100, blank=True)

    class Meta:
        verbose_name = _("disclosure item")
        verbose_name_plural = _("disclosure items")
        ordering = ["-period", "kind", "-published_at", "-id"]
        indexes = [models.Index(fields=["village", "period"], name="disclosure_village_period")]

    def __str__(self):
        return self.title

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class LineDirection(models.TextChoices):
    INCOME = "income", _("Income")
    EXPENSE = "expense", _("Expense")


class FinanceLine(models.Model):
    item = models.ForeignKey(DisclosureItem, on_delete=models.CASCADE, related_name="lines")
    direction = models.CharField(_("direction"), max_length=10, choices=LineDirection.choices)
    label = models.CharField(_("item"), max_length=200)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["direction", "position", "id"]
