"""Pages: the staff's 四议两公开 / 小院议事厅 / 公开 records (/deliberation/), and the public
pages of each village: its deliberations and its disclosure board with the archive. Views parse,
check permission, call one action and render; a refusal is shown on the same page with the
entered values kept."""

import re
from datetime import date
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from wangge.accounts.permissions import Perm
from wangge.cases.queries import visible_cases
from wangge.deliberation import actions, queries
from wangge.deliberation.models import (
    PUBLIC_STEPS,
    STEP_BODIES,
    STEP_ORDER,
    VOTE_REQUIRED,
    DisclosureKind,
    MeetingBody,
    StepKind,
)
from wangge.lib.errors import DomainError, InvalidInput, NotFound, PermissionDenied


def _guard(fn):
    """Domain NotFound/PermissionDenied as Django's 404/403."""

    def wrapper(request, *args, **kwargs):
        try:
            return fn(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.text()) from exc
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.text()) from exc

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def _problem(exc: DomainError) -> dict:
    return {"text": exc.text(), "fields": {k: str(v) for k, v in exc.fields.items()}}


def _date(value, name: str = "held_on") -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(fields={name: _("Enter a date like 2025-03-01.")}) from None


# --- staff ------------------------------------------------------------------------------------


def _home_context(request, village, *, problem=None, data=None, form=""):
    villages = list(queries.manageable_villages(request.user).order_by("path"))
    return {
        "village": village,
        "villages": villages,
        "matters": queries.visible_matters(request.user).filter(village=village)[:100],
        "meetings": queries.visible_meetings(request.user).filter(
            cell__path__startswith=village.path
        )[:50],
        "items": queries.visible_disclosures(request.user)
        .filter(village=village)
        .select_related("supersedes")[:100],
        "cells": village.children.order_by("path").defer("geometry"),
        "kinds": DisclosureKind.choices,
        "problem": problem,
        "data": data or {},
        "form": form,
    }


def _village_from(request, code: str | None):
    queries.require_manage(request.user)
    if code:
        return queries.get_village_for(request.user, code)
    village = queries.manageable_villages(request.user).order_by("path").first()
    if village is None:
        raise NotFound(_("No village is within your scope."))
    return village


@login_required
@_guard
def home(request):
    """Choose a village; its matters, courtyard meetings and disclosure items, with forms."""
    village = _village_from(request, request.GET.get("village"))
    return render(request, "deliberation/home.html", _home_context(request, village))


@login_required
@require_POST
@_guard
def matter_new(request):
    village = _village_from(request, request.POST.get("village"))
    try:
        matter = actions.create_matter(
            village,
            title=request.POST.get("title", ""),
            summary=request.POST.get("summary", ""),
            actor=request.user,
        )
    except DomainError as exc:
        context = _home_context(
            request, village, problem=_problem(exc), data=request.POST, form="matter"
        )
        return render(request, "deliberation/home.html", context, status=exc.status)
    return redirect("deliberation_matter", matter.pk)


def _matter_context(request, matter, *, problem=None, data=None):
    kind = matter.next_step
    return {
        "matter": matter,
        "steps": list(matter.steps.all()),
        "next_kind": kind,
        "next_label": StepKind(kind).label if kind else "",
        "is_public_step": kind in PUBLIC_STEPS,
        "vote_required": kind in VOTE_REQUIRED,
        "bodies": [(b, MeetingBody(b).label) for b in STEP_BODIES.get(kind, ())],
        "order": [(k, StepKind(k).label) for k in STEP_ORDER],
        "done": {s.kind for s in matter.steps.all()},
        "problem": problem,
        "data": data or {},
    }


@login_required
@_guard
def matter_detail(request, matter_id: int):
    """A matter's steps and the form for its next step (only the next one is offered)."""
    matter = queries.get_matter_for(request.user, matter_id)
    if request.method != "POST":
        return render(request, "deliberation/matter.html", _matter_context(request, matter))
    post = request.POST
    try:
        actions.record_step(
            matter,
            kind=post.get("kind", ""),
            version=int(post.get("version") or 0),
            held_on=_date(post.get("held_on")),
            body=post.get("body", ""),
            expected=post.get("expected"),
            present=post.get("present"),
            votes_for=post.get("votes_for"),
            votes_against=post.get("votes_against"),
            votes_abstain=post.get("votes_abstain"),
            minutes=post.get("minutes", ""),
            public_text=post.get("public_text", ""),
            uploads=request.FILES.getlist("attachments"),
            actor=request.user,
        )
    except DomainError as exc:
        matter = queries.get_matter_for(request.user, matter_id)
        context = _matter_context(request, matter, problem=_problem(exc), data=post)
        return render(request, "deliberation/matter.html", context, status=exc.status)
    return redirect("deliberation_matter", matter.pk)


@login_required
@require_POST
@_guard
def matter_repropose(request, matter_id: int):
    matter = queries.get_matter_for(request.user, matter_id)
    try:
        new = actions.repropose_matter(matter, actor=request.user)
    except DomainError as exc:
        matter = queries.get_matter_for(request.user, matter_id)
        context = _matter_context(request, matter, problem=_problem(exc))
        return render(request, "deliberation/matter.html", context, status=exc.status)
    return redirect("deliberation_matter", new.pk)


def _case_by_code(user, code: str):
    code = (code or "").strip().upper()
    if not code:
        return None
    case = visible_cases(user, Perm.VIEW_CASE).filter(tracking_code=code).first()
    if case is None:
        raise InvalidInput(fields={"case": _("No case with this tracking code in your scope.")})
    return case


@login_required
@require_POST
@_guard
def meeting_new(request):
    village = _village_from(request, request.POST.get("village"))
    post = request.POST
    try:
        cell = village
        if post.get("cell") and post["cell"] != village.code:
            cell = village.children.filter(code=post["cell"]).first()
            if cell is None:
                raise InvalidInput(fields={"cell": _("Choose a grid of this village.")})
        actions.record_courtyard_meeting(
            cell,
            held_on=_date(post.get("held_on")),
            topic=post.get("topic", ""),
            participant_count=post.get("participant_count"),
            participant_names=post.get("participant_names", ""),
            outcome=post.get("outcome", ""),
            follow_up=post.get("follow_up", ""),
            case=_case_by_code(request.user, post.get("case", "")),
            actor=request.user,
        )
    except DomainError as exc:
        context = _home_context(request, village, problem=_problem(exc), data=post, form="meeting")
        return render(request, "deliberation/home.html", context, status=exc.status)
    return redirect(f"{reverse('deliberation_home')}?village={village.code}#meetings")


@login_required
@_guard
def meeting_detail(request, meeting_id: int):
    meeting = queries.get_meeting_for(request.user, meeting_id)
    problem = None
    status = 200
    if request.method == "POST":
        try:
            actions.set_meeting_follow_up(
                meeting,
                version=int(request.POST.get("version") or 0),
                follow_up=request.POST.get("follow_up", ""),
                case=_case_by_code(request.user, request.POST.get("case", "")),
                actor=request.user,
            )
            return redirect("deliberation_meeting", meeting.pk)
        except DomainError as exc:
            problem, status = _problem(exc), exc.status
    context = {"meeting": meeting, "problem": problem, "data": request.POST}
    return render(request, "deliberation/meeting.html", context, status=status)


LINE = re.compile(r"^(?P<label>.+?)[\s,，:：]+(?P<amount>-?[\d,]+(?:\.\d+)?)$")


def _parse_lines(text: str, direction: str, name: str) -> list[dict]:
    """One line per entry: "label amount" (a space, comma or colon between)."""
    lines = []
    for raw in (text or "").splitlines():
        raw = raw.strip()
        if not raw:
            continue
        m = LINE.match(raw)
        if m is None:
            raise InvalidInput(
                fields={
                    name: _("Write each line as a name and an amount: %(line)s") % {"line": raw}
                }
            )
        lines.append({"direction": direction, "label": m["label"], "amount": m["amount"]})
    return lines


def _disclosure_input(post) -> dict:
    return {
        "kind": post.get("kind", ""),
        "period": post.get("period", ""),
        "title": post.get("title", ""),
        "body": post.get("body", ""),
        "opening_balance": post.get("opening_balance") or None,
        "total_income": post.get("total_income") or None,
        "total_expense": post.get("total_expense") or None,
        "closing_balance": post.get("closing_balance") or None,
        "lines": _parse_lines(post.get("income_lines"), "income", "income_lines")
        + _parse_lines(post.get("expense_lines"), "expense", "expense_lines"),
    }


@login_required
@require_POST
@_guard
def disclosure_new(request):
    village = _village_from(request, request.POST.get("village"))
    try:
        item = actions.create_disclosure(
            village, actor=request.user, **_disclosure_input(request.POST)
        )
    except DomainError as exc:
        context = _home_context(
            request, village, problem=_problem(exc), data=request.POST, form="disclosure"
        )
        return render(request, "deliberation/home.html", context, status=exc.status)
    return redirect("deliberation_disclosure", item.pk)


def _lines_text(item, direction: str) -> str:
    return "\n".join(
        f"{ln.label} {ln.amount}" for ln in item.lines.all() if ln.direction == direction
    )


def _item_data(item) -> dict:
    def money(v: Decimal | None) -> str:
        return "" if v is None else str(v)

    return {
        "kind": item.kind,
        "period": item.period,
        "title": item.title,
        "body": item.body,
        "opening_balance": money(item.opening_balance),
        "total_income": money(item.total_income),
        "total_expense": money(item.total_expense),
        "closing_balance": money(item.closing_balance),
        "income_lines": _lines_text(item, "income"),
        "expense_lines": _lines_text(item, "expense"),
    }


@login_required
@_guard
def disclosure_detail(request, item_id: int):
    """A disclosure item: a draft is edited here and published; a published one is read-only
    and may be corrected by a new item."""
    item = queries.get_disclosure_for(request.user, item_id)
    problem, status, data = None, 200, _item_data(item)
    if request.method == "POST":
        data = request.POST
        try:
            actions.update_disclosure(
                item,
                version=int(request.POST.get("version") or 0),
                actor=request.user,
                **_disclosure_input(request.POST),
            )
            return redirect("deliberation_disclosure", item.pk)
        except DomainError as exc:
            problem, status = _problem(exc), exc.status
    context = {
        "item": item,
        "village": item.village,
        "kinds": DisclosureKind.choices,
        "superseded_by": getattr(item, "superseded_by", None),
        "problem": problem,
        "data": data,
    }
    return render(request, "deliberation/disclosure.html", context, status=status)


@login_required
@require_POST
@_guard
def disclosure_publish(request, item_id: int):
    item = queries.get_disclosure_for(request.user, item_id)
    try:
        actions.publish_disclosure(
            item, version=int(request.POST.get("version") or 0), actor=request.user
        )
    except DomainError as exc:
        context = {
            "item": item,
            "village": item.village,
            "kinds": DisclosureKind.choices,
            "superseded_by": getattr(item, "superseded_by", None),
            "problem": _problem(exc),
            "data": _item_data(item),
        }
        return render(request, "deliberation/disclosure.html", context, status=exc.status)
    return redirect("deliberation_disclosure", item.pk)


@login_required
@require_POST
@_guard
def disclosure_correct(request, item_id: int):
    item = queries.get_disclosure_for(request.user, item_id)
    try:
        fix = actions.correct_disclosure(item, actor=request.user)
    except DomainError as exc:
        context = {
            "item": item,
            "village": item.village,
            "kinds": DisclosureKind.choices,
            "superseded_by": getattr(item, "superseded_by", None),
            "problem": _problem(exc),
            "data": _item_data(item),
        }
        return render(request, "deliberation/disclosure.html", context, status=exc.status)
    return redirect("deliberation_disclosure", fix.pk)


# --- public -----------------------------------------------------------------------------------


def _public_village(code: str):
    try:
        return queries.public_village(code)
    except NotFound as exc:
        raise Http404(exc.text()) from exc


def public_deliberation(request, code: str):
    """四议两公开 of a village, for anyone: steps with dates, counts and votes, and the two
    public texts with who published them and when. No minutes, no names of attendees."""
    village = _public_village(code)
    context = {"village": village, "matters": queries.public_matters(village)}
    return render(request, "deliberation/public_deliberation.html", context)


def disclosure_board(request, code: str):
    """党务村务财务公开栏: each type's latest period."""
    village = _public_village(code)
    context = {
        "village": village,
        "items": queries.board_items(village),
        "periods": queries.archive_periods(village),
        "kinds": DisclosureKind.choices,
    }
    return render(request, "deliberation/board.html", context)


def disclosure_archive(request, code: str, period: str):
    village = _public_village(code)
    items = queries.period_items(village, period)
    if not items:
        raise Http404()
    context = {
        "village": village,
        "period": period,
        "items": items,
        "periods": queries.archive_periods(village),
        "kinds": DisclosureKind.choices,
    }
    return render(request, "deliberation/board.html", context)
