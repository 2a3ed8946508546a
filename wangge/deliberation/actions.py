"""Every state change of 四议两公开, 小院议事厅 and 党务村务财务公开: one transaction each, with
its audit row inside.

A step is recorded only through `record_step`: the `TRANSITIONS` table says whether it is the
matter's next step, the meeting rules (quorum, pass share) are checked, then an
`UPDATE … WHERE version = v` compare-and-set moves the matter, so of two clerks recording the
same step exactly one wins and the other is told it changed meanwhile (409). A failed vote is
recorded and ends the round (`rejected`); `repropose_matter` starts a new round from 党支部提议.
"""

import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.audit.actions import record_audit
from wangge.deliberation.models import (
    FAILED_VOTE_STATE,
    PERIOD_PATTERN,
    PUBLIC_STEPS,
    STEP_BODIES,
    STEP_ORDER,
    TRANSITIONS,
    VOTE_REQUIRED,
    CourtyardMeeting,
    DisclosureItem,
    DisclosureKind,
    FinanceLine,
    LineDirection,
    Matter,
    MatterState,
    MeetingBody,
    Step,
    StepAttachment,
    StepKind,
    meets,
    rule_for,
)
from wangge.grids.models import GridCell, GridLevel
from wangge.lib.errors import Conflict, IllegalTransition, InvalidInput
from wangge.lib.images import check_size, clean_image


class ChangedMeanwhile(Conflict):
    code = "changed_meanwhile"


def _changed() -> ChangedMeanwhile:
    return ChangedMeanwhile(_("Someone else recorded this meanwhile; reload and try again."))


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _text(value, name: str, *, required: bool, limit: int | None = None) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(fields={name: _("This field is required.")})
    if limit and len(value) > limit:
        raise InvalidInput(
            fields={name: _("At most %(n)s characters.") % {"n": limit}},
        )
    return value


# A mobile number or an 18-digit ID number, not inside a longer run of digits (an account or
# a landline with area code is fine). Public texts must not carry either.
PERSONAL_NUMBER = re.compile(r"(?<!\d)(1[3-9]\d{9}|\d{17}[\dXx])(?!\d)")


def _public(value: str, name: str) -> str:
    if PERSONAL_NUMBER.search(value or ""):
        raise InvalidInput(
            fields={name: _("Public text must not contain a phone number or an ID number.")}
        )
    return value


# --- 四议两公开 ---------------------------------------------------------------------------------


def _check_village(village: GridCell) -> None:
    if village.level != GridLevel.COMMUNITY:
        raise InvalidInput(fields={"village": _("Choose a village or community.")})


@transaction.atomic
def create_matter(
    village: GridCell, *, title: str, summary: str = "", actor, now: datetime | None = None
) -> Matter:
    """一事一议: open a village matter; its first step is the party branch's proposal."""
    _check_village(village)
    now = _now(now)
    matter = Matter.objects.create(
        village=village,
        title=_public(_text(title, "title", required=True, limit=200), "title"),
        summary=_public(_text(summary, "summary", required=False), "summary"),
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    record_audit(actor=actor, action="deliberation.matter_created", obj=matter)
    return matter


def _refuse_step(matter: Matter, kind: str) -> IllegalTransition:
    label = StepKind(kind).label
    if matter.state == MatterState.REJECTED:
        return IllegalTransition(
            _("This round was rejected by a vote; propose the matter again as a new round.")
        )
    nxt = matter.next_step
    if nxt is None or STEP_ORDER.index(kind) < STEP_ORDER.index(nxt):
        return IllegalTransition(_("“%(step)s” has already been recorded."), step=label)
    return IllegalTransition(
        _("“%(step)s” cannot be recorded yet: the next step is “%(next)s”."),
        step=label,
        next=StepKind(nxt).label,
    )


def _count(value, name: str) -> int:
    if value is None or value == "":
        raise InvalidInput(fields={name: _("This field is required.")})
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(fields={name: _("Enter a whole number.")}) from None
    if number < 0:
        raise InvalidInput(fields={name: _("Enter a whole number.")})
    return number


def _fraction(numerator: int, denominator: int, strict: bool) -> str:
    share = f"{numerator}/{denominator}"
    if strict:
        return _("more than %(share)s") % {"share": share}
    return _("at least %(share)s") % {"share": share}


def _meeting_fields(kind: str, *, body, expected, present, votes) -> dict:
    """Check attendance, quorum and vote of a meeting step; the fields to store."""
    bodies = STEP_BODIES[kind]
    body = body or bodies[0]
    if body not in bodies:
        raise InvalidInput(fields={"body": _("This body does not hold this step.")})
    expected, present = _count(expected, "expected"), _count(present, "present")
    if expected == 0:
        raise InvalidInput(fields={"expected": _("At least one member is expected.")})
    if present > expected:
        raise InvalidInput(fields={"present": _("More present than expected.")})
    rule = rule_for(body)
    if not meets(
        present, expected, rule.quorum_numerator, rule.quorum_denominator, rule.quorum_strict
    ):
        raise InvalidInput(
            _(
                "No quorum: %(present)s of %(expected)s present; the %(body)s needs "
                "%(share)s of its members."
            ),
            fields={"present": _("No quorum.")},
            present=present,
            expected=expected,
            body=MeetingBody(body).label,
            share=_fraction(rule.quorum_numerator, rule.quorum_denominator, rule.quorum_strict),
        )
    given = [v not in (None, "") for v in votes]
    passed = None
    counts = [None, None, None]
    if kind in VOTE_REQUIRED or any(given):
        counts = [
            _count(v, n)
            for v, n in zip(votes, ("votes_for", "votes_against", "votes_abstain"), strict=True)
        ]
        if sum(counts) > present:
            raise InvalidInput(
                _("%(votes)s votes cast but only %(present)s present."),
                fields={"votes_for": _("More votes than people present.")},
                votes=sum(counts),
                present=present,
            )
        passed = meets(
            counts[0], present, rule.pass_numerator, rule.pass_denominator, rule.pass_strict
        )
    return {
        "body": body,
        "expected": expected,
        "present": present,
        "votes_for": counts[0],
        "votes_against": counts[1],
        "votes_abstain": counts[2],
        "passed": passed,
        "rule": rule.snapshot(),
    }


def _check_uploads(uploads: Iterable) -> list:
    uploads = list(uploads or ())
    for upload in uploads:
        check_size(upload)
        content_type = (getattr(upload, "content_type", "") or "").split(";")[0]
        if content_type not in settings.WANGGE_ATTACHMENT_TYPES:
            raise InvalidInput(fields={"attachments": _("This file type is not accepted.")})
    # photos re-encoded without metadata before anything is written; a PDF passes unchanged
    return [clean_image(upload, field="attachments") for upload in uploads]


@transaction.atomic
def record_step(
    matter: Matter,
    *,
    kind: str,
    version: int,
    held_on: date,
    actor,
    body: str = "",
    expected=None,
    present=None,
    votes_for=None,
    votes_against=None,
    votes_abstain=None,
    minutes: str = "",
    public_text: str = "",
    uploads: Iterable = (),
    now: datetime | None = None,
) -> Step:
    """四议两公开: record the matter's next step. Out of order, skipped or repeated steps, a
    meeting without quorum and a stale `version` are refused and nothing is written."""
    now = _now(now)
    if kind not in StepKind.values:
        raise InvalidInput(fields={"kind": _("Unknown step.")})
    if int(version) != matter.version:
        raise _changed()
    after = TRANSITIONS.get((kind, matter.state))
    if after is None:
        raise _refuse_step(matter, kind)
    if held_on is None:
        raise InvalidInput(fields={"held_on": _("This field is required.")})
    if held_on > timezone.localdate(now):
        raise InvalidInput(fields={"held_on": _("The date is in the future.")})
    last = matter.steps.order_by("-recorded_at", "-id").first()
    if last is not None and held_on < last.held_on:
        raise InvalidInput(
            fields={"held_on": _("This step cannot be dated before the previous one.")}
        )
    uploads = _check_uploads(uploads)
    if kind in PUBLIC_STEPS:
        text = _text(public_text, "public_text", required=True)
        fields = {"public_text": _public(text, "public_text")}
        minutes = ""
    else:
        fields = _meeting_fields(
            kind,
            body=body,
            expected=expected,
            present=present,
            votes=(votes_for, votes_against, votes_abstain),
        )
        minutes = _text(minutes, "minutes", required=True)
    if fields.get("passed") is False:
        after = FAILED_VOTE_STATE
    won = Matter.objects.filter(pk=matter.pk, version=matter.version, state=matter.state).update(
        state=after, version=F("version") + 1, updated_at=now
    )
    if won != 1:
        raise _changed()
    before = matter.state
    matter.state, matter.version, matter.updated_at = after, matter.version + 1, now
    try:
        with transaction.atomic():  # the unique (matter, kind) row is the last guard
            step = Step.objects.create(
                matter=matter,
                kind=kind,
                held_on=held_on,
                minutes=minutes,
                recorded_by=actor,
                recorded_by_name=str(actor) if actor else "system",
                recorded_at=now,
                **fields,
            )
    except IntegrityError:
        raise _changed() from None
    for upload in uploads:
        StepAttachment.objects.create(
            step=step,
            file=upload,
            original_name=upload.name[:200],
            content_type=(upload.content_type or "").split(";")[0],
            size=upload.size,
        )
    record_audit(
        actor=actor,
        action=f"deliberation.{kind}",
        obj=matter,
        detail={
            "step": step.pk,
            "before": before,
            "after": after,
            "present": step.present,
            "votes": [step.votes_for, step.votes_against, step.votes_abstain],
            "passed": step.passed,
        },
    )
    return step


@transaction.atomic
def repropose_matter(
    matter: Matter,
    *,
    actor,
    title: str = "",
    summary: str | None = None,
    now: datetime | None = None,
) -> Matter:
    """再次提议: after a failed vote, open the next round of the same matter."""
    if matter.state != MatterState.REJECTED:
        raise IllegalTransition(_("Only a matter rejected by a vote can be proposed again."))
    now = _now(now)
    try:
        with transaction.atomic():
            new = Matter.objects.create(
                village=matter.village,
                title=_public(
                    _text(title or matter.title, "title", required=True, limit=200), "title"
                ),
                summary=matter.summary if summary is None else _public(summary.strip(), "summary"),
                round=matter.round + 1,
                previous=matter,
                created_by=actor,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:  # another clerk opened the next round first
        raise _changed() from None
    record_audit(
        actor=actor,
        action="deliberation.matter_reproposed",
        obj=new,
        detail={"previous": matter.pk, "round": new.round},
    )
    return new


# --- 小院议事厅 ---------------------------------------------------------------------------------


@transaction.atomic
def record_courtyard_meeting(
    cell: GridCell,
    *,
    held_on: date,
    topic: str,
    participant_count,
    outcome: str,
    actor,
    participant_names: str = "",
    follow_up: str = "",
    case=None,
    now: datetime | None = None,
) -> CourtyardMeeting:
    """小院议事厅: record a courtyard meeting, its outcome and follow-up (optionally a case)."""
    now = _now(now)
    if held_on is None:
        raise InvalidInput(fields={"held_on": _("This field is required.")})
    if held_on > timezone.localdate(now):
        raise InvalidInput(fields={"held_on": _("The date is in the future.")})
    count = _count(participant_count, "participant_count")
    if count == 0:
        raise InvalidInput(fields={"participant_count": _("At least one participant.")})
    meeting = CourtyardMeeting.objects.create(
        cell=cell,
        held_on=held_on,
        topic=_text(topic, "topic", required=True, limit=200),
        participant_count=count,
        participant_names=_text(participant_names, "participant_names", required=False),
        outcome=_text(outcome, "outcome", required=True),
        follow_up=_text(follow_up, "follow_up", required=False),
        case=case,
        recorded_by=actor,
        recorded_at=now,
    )
    record_audit(actor=actor, action="deliberation.courtyard_meeting", obj=meeting)
    return meeting


@transaction.atomic
def set_meeting_follow_up(
    meeting: CourtyardMeeting, *, version: int, follow_up: str, case=None, actor
) -> CourtyardMeeting:
    """跟进: note what became of a courtyard meeting, and link the case that carries it."""
    follow_up = _text(follow_up, "follow_up", required=False)
    won = CourtyardMeeting.objects.filter(pk=meeting.pk, version=version).update(
        follow_up=follow_up, case=case, version=F("version") + 1
    )
    if won != 1:
        raise _changed()
    record_audit(
        actor=actor,
        action="deliberation.courtyard_follow_up",
        obj=meeting,
        detail={"case": case.pk if case else None},
    )
    meeting.refresh_from_db()
    return meeting


# --- 党务村务财务公开 ----------------------------------------------------------------------------

MONEY = Decimal("0.01")


def _money(value, name: str) -> Decimal:
    if value is None or value == "":
        raise InvalidInput(fields={name: _("This field is required.")})
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        raise InvalidInput(fields={name: _("Enter an amount, e.g. 1250.00.")}) from None
    if not amount.is_finite() or amount != amount.quantize(MONEY):
        raise InvalidInput(fields={name: _("Enter an amount, e.g. 1250.00.")})
    return amount.quantize(MONEY)


def _lines(lines) -> list[FinanceLine]:
    out = []
    for i, line in enumerate(lines or ()):
        direction, label, amount = line["direction"], line.get("label", ""), line["amount"]
        if direction not in LineDirection.values:
            raise InvalidInput(fields={"lines": _("Each line is income or expense.")})
        amount = _money(amount, "lines")
        if amount < 0:
            raise InvalidInput(fields={"lines": _("Amounts are not negative.")})
        out.append(
            FinanceLine(
                direction=direction,
                label=_public(_text(label, "lines", required=True, limit=200), "lines"),
                amount=amount,
                position=i,
            )
        )
    return out


def check_finance(*, opening, income, expense, closing, lines: list[FinanceLine]) -> None:
    """Lines add up to the totals, and opening + income − expense = closing; otherwise refuse
    naming every difference."""
    problems: dict[str, str] = {}
    for direction, total, name in (
        (LineDirection.INCOME, income, "total_income"),
        (LineDirection.EXPENSE, expense, "total_expense"),
    ):
        added = sum((ln.amount for ln in lines if ln.direction == direction), Decimal("0.00"))
        if added != total:
            msg = (
                _(
                    "Income lines add up to %(lines)s but the total income is %(total)s "
                    "(difference %(difference)s)."
                )
                if direction == LineDirection.INCOME
                else _(
                    "Expense lines add up to %(lines)s but the total expense is %(total)s "
                    "(difference %(difference)s)."
                )
            )
            problems[name] = msg % {"lines": added, "total": total, "difference": added - total}
    computed = opening + income - expense
    if computed != closing:
        problems["closing_balance"] = _(
            "Opening balance %(opening)s + income %(income)s − expense %(expense)s = "
            "%(computed)s, but the closing balance is %(closing)s (difference %(difference)s)."
        ) % {
            "opening": opening,
            "income": income,
            "expense": expense,
            "computed": computed,
            "closing": closing,
            "difference": closing - computed,
        }
    if problems:
        raise InvalidInput(" ".join(problems.values()), fields=problems)


def _disclosure_fields(
    *, kind, period, title, body, opening, income, expense, closing, lines
) -> tuple[dict, list[FinanceLine]]:
    if kind not in DisclosureKind.values:
        raise InvalidInput(fields={"kind": _("Choose party affairs, village affairs or finance.")})
    period = (period or "").strip().upper()
    if not re.match(PERIOD_PATTERN, period):
        raise InvalidInput(
            fields={
                "period": _(
                    "A period is a year, half, quarter or month: 2025, 2025-H1, 2025-Q1 or 2025-03."
                )
            }
        )
    fields = {
        "kind": kind,
        "period": period,
        "title": _public(_text(title, "title", required=True, limit=200), "title"),
        "body": _public(_text(body, "body", required=False), "body"),
        "opening_balance": None,
        "total_income": None,
        "total_expense": None,
        "closing_balance": None,
    }
    if kind != DisclosureKind.FINANCE:
        if lines or any(v not in (None, "") for v in (opening, income, expense, closing)):
            raise InvalidInput(fields={"lines": _("Only finance items have income and expense.")})
        if not fields["body"]:
            raise InvalidInput(fields={"body": _("This field is required.")})
        return fields, []
    fields.update(
        opening_balance=_money(opening, "opening_balance"),
        total_income=_money(income, "total_income"),
        total_expense=_money(expense, "total_expense"),
        closing_balance=_money(closing, "closing_balance"),
    )
    built = _lines(lines)
    check_finance(
        opening=fields["opening_balance"],
        income=fields["total_income"],
        expense=fields["total_expense"],
        closing=fields["closing_balance"],
        lines=built,
    )
    return fields, built


@transaction.atomic
def create_disclosure(
    village: GridCell,
    *,
    kind: str,
    period: str,
    title: str,
    actor,
    body: str = "",
    opening_balance=None,
    total_income=None,
    total_expense=None,
    closing_balance=None,
    lines=(),
    supersedes: DisclosureItem | None = None,
    now: datetime | None = None,
) -> DisclosureItem:
    """公开事项: draft an item for the village's board; finance items must add up."""
    _check_village(village)
    fields, built = _disclosure_fields(
        kind=kind,
        period=period,
        title=title,
        body=body,
        opening=opening_balance,
        income=total_income,
        expense=total_expense,
        closing=closing_balance,
        lines=lines,
    )
    try:
        with transaction.atomic():
            item = DisclosureItem.objects.create(
                village=village,
                supersedes=supersedes,
                created_by=actor,
                created_at=_now(now),
                **fields,
            )
    except IntegrityError:  # one correction per item
        raise Conflict(_("A correction of this item already exists.")) from None
    for line in built:
        line.item = item
    FinanceLine.objects.bulk_create(built)
    record_audit(
        actor=actor,
        action="deliberation.disclosure_drafted",
        obj=item,
        detail={"supersedes": supersedes.pk if supersedes else None},
    )
    return item


def _refuse_published() -> Conflict:
    return Conflict(_("A published item cannot be changed; publish a correction instead."))


@transaction.atomic
def update_disclosure(
    item: DisclosureItem,
    *,
    version: int,
    actor,
    kind: str,
    period: str,
    title: str,
    body: str = "",
    opening_balance=None,
    total_income=None,
    total_expense=None,
    closing_balance=None,
    lines=(),
) -> DisclosureItem:
    """修改草稿: change a draft. A published item is refused."""
    if item.is_published:
        raise _refuse_published()
    fields, built = _disclosure_fields(
        kind=kind,
        period=period,
        title=title,
        body=body,
        opening=opening_balance,
        income=total_income,
        expense=total_expense,
        closing=closing_balance,
        lines=lines,
    )
    won = DisclosureItem.objects.filter(
        pk=item.pk, version=version, published_at__isnull=True
    ).update(version=F("version") + 1, **fields)
    if won != 1:
        if DisclosureItem.objects.filter(pk=item.pk, published_at__isnull=False).exists():
            raise _refuse_published()
        raise _changed()
    FinanceLine.objects.filter(item=item).delete()
    for line in built:
        line.item = item
    FinanceLine.objects.bulk_create(built)
    record_audit(actor=actor, action="deliberation.disclosure_updated", obj=item)
    item.refresh_from_db()
    return item


@transaction.atomic
def publish_disclosure(
    item: DisclosureItem, *, version: int, actor, now: datetime | None = None
) -> DisclosureItem:
    """公开: put the item on the village's board, with who and when. It never changes again."""
    if item.is_published:
        raise Conflict(_("This item is already published."))
    if item.kind == DisclosureKind.FINANCE:
        check_finance(
            opening=item.opening_balance,
            income=item.total_income,
            expense=item.total_expense,
            closing=item.closing_balance,
            lines=list(item.lines.all()),
        )
    now = _now(now)
    won = DisclosureItem.objects.filter(
        pk=item.pk, version=version, published_at__isnull=True
    ).update(
        version=F("version") + 1,
        published_at=now,
        published_by=actor,
        published_by_name=str(actor) if actor else "system",
    )
    if won != 1:
        raise _changed()
    record_audit(
        actor=actor,
        action="deliberation.disclosure_published",
        obj=item,
        detail={"supersedes": item.supersedes_id},
    )
    item.refresh_from_db()
    return item


def correct_disclosure(item: DisclosureItem, *, actor, **fields) -> DisclosureItem:
    """更正: draft a new item that supersedes a published one once it is published."""
    if not item.is_published:
        raise Conflict(_("A draft can be changed directly; only published items are corrected."))
    if DisclosureItem.objects.filter(supersedes=item).exists():
        raise Conflict(_("A correction of this item already exists."))
    # Unless told otherwise the correction starts as a copy, to be edited as a draft.
    copied = {
        "kind": item.kind,
        "period": item.period,
        "title": item.title,
        "body": item.body,
        "opening_balance": item.opening_balance,
        "total_income": item.total_income,
        "total_expense": item.total_expense,
        "closing_balance": item.closing_balance,
        "lines": [
            {"direction": ln.direction, "label": ln.label, "amount": ln.amount}
            for ln in item.lines.all()
        ],
    }
    fields = {**copied, **fields, "kind": item.kind}
    return create_disclosure(item.village, supersedes=item, actor=actor, **fields)
