"""Server-rendered pages: the dispatcher's queue, a case with its timeline and the actions the
user may take now, and the public tracking page. Handlers are thin: scope, form, one action."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.forms import Form
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from wangge.accounts.permissions import Perm, has_perm
from wangge.cases import actions, forms
from wangge.cases.deadlines import Colour, deadline_colour, with_colour
from wangge.cases.models import (
    TRANSITIONS,
    Case,
    CaseState,
    SupervisionState,
)
from wangge.cases.queries import (
    REPLY_PERMS,
    get_case_for_any,
    helper_tasks_for,
    helper_unit_for,
    may_answer,
    visible_cases,
)
from wangge.dispatch.actions import dispatch_by_dispatcher
from wangge.lib.errors import CaseChangedMeanwhile, DomainError, NotFound, PermissionDenied
from wangge.lib.masking import mask_name, mask_phone

QUEUE_PAGE_SIZE = 50


def home(request):
    return redirect("/queue/" if request.user.is_authenticated else "/login/")


def _case_for(user, case_id: int, *perms: Perm) -> Case:
    """get_case_for (any of `perms`) with its domain errors turned into Django's 404 and 403."""
    try:
        return get_case_for_any(user, case_id, perms)
    except NotFound as exc:
        raise Http404(exc.text()) from exc
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.text()) from exc


# --- the queue --------------------------------------------------------------------------------


@login_required
def queue(request):
    now = timezone.now()
    filters = forms.QueueFilterForm(request.GET or None)
    cases = with_colour(visible_cases(request.user), now=now).select_related(
        "cell", "unit", "category"
    )
    if filters.is_valid():
        if filters.cleaned_data["state"]:
            cases = cases.filter(state=filters.cleaned_data["state"])
        if filters.cleaned_data["colour"]:
            cases = cases.filter(colour=filters.cleaned_data["colour"])
    page = Paginator(cases, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    for case in page:
        case.colour_label = Colour.LABELS[case.colour]
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "cases/queue.html",
        {"page": page, "filters": filters, "filter_query": params.urlencode()},
    )


# --- a case and its actions -------------------------------------------------------------------


@dataclass(frozen=True)
class Act:
    """One button on the case page: the permission it needs, its form, how to call the action."""

    label: Any
    perm: Perm | tuple[Perm, ...]  # any one of them, on a case in its scope
    form: type[Form]
    run: Any  # (case, cleaned_data, user) -> None
    transition: bool = True  # False: adds events only (督办), allowed in any open state
    shown: Callable | None = None  # (user, case) -> bool: a further condition to offer it

    @property
    def perms(self) -> tuple[Perm, ...]:
        return self.perm if isinstance(self.perm, tuple) else (self.perm,)


ACTS: dict[str, Act] = {
    "dispatch": Act(
        _("Dispatch"),
        Perm.DISPATCH_CASE,
        forms.DispatchForm,
        # Through 智能分派's record, so the dispatcher's choice (or correction) is kept.
        lambda c, d, u: dispatch_by_dispatcher(c, unit=d["unit"], note=d["note"], actor=u),
    ),
    "accept": Act(
        _("Accept"),
        Perm.HANDLE_CASE,
        forms.ActionForm,
        lambda c, d, u: actions.accept_case(c, actor=u),
    ),
    "return": Act(
        _("Return"),
        Perm.HANDLE_CASE,
        forms.ReasonForm,
        lambda c, d, u: actions.return_case(c, reason=d["reason"], actor=u),
    ),
    "start": Act(
        _("Start handling"),
        Perm.HANDLE_CASE,
        forms.ActionForm,
        lambda c, d, u: actions.start_case(c, actor=u),
    ),
    "pause": Act(
        _("Pause"),
        Perm.HANDLE_CASE,
        forms.ReasonForm,
        lambda c, d, u: actions.pause_case(c, reason=d["reason"], actor=u),
    ),
    "resume": Act(
        _("Resume"),
        Perm.HANDLE_CASE,
        forms.ActionForm,
        lambda c, d, u: actions.resume_case(c, actor=u),
    ),
    "resolve": Act(
        _("Resolve"),
        Perm.HANDLE_CASE,
        forms.ResolveForm,
        lambda c, d, u: actions.resolve_case(c, outcome=d["outcome"], note=d["note"], actor=u),
    ),
    "rate": Act(
        _("Record rating"),
        Perm.RATE_CASE,
        forms.RateForm,
        lambda c, d, u: actions.rate_case(
            c, satisfaction=d["satisfaction"], comment=d["comment"], actor=u
        ),
    ),
    "escalate": Act(
        _("Escalate"),
        Perm.ESCALATE_CASE,
        forms.ReasonForm,
        lambda c, d, u: actions.escalate_case(c, reason=d["reason"], actor=u),
    ),
    "reopen": Act(
        _("Reopen"),
        Perm.REOPEN_CASE,
        forms.ReasonForm,
        lambda c, d, u: actions.reopen_case(c, reason=d["reason"], actor=u),
    ),
    "close": Act(
        _("Close"),
        Perm.CLOSE_CASE,
        forms.OptionalReasonForm,
        lambda c, d, u: actions.close_case(c, reason=d["reason"], actor=u),
    ),
    "supervise": Act(
        _("Supervise"),
        Perm.SUPERVISE,
        forms.SuperviseForm,
        lambda c, d, u: actions.supervise_case(
            c, level=d["level"], demand=d["demand"], due_at=d["due_at"], actor=u
        ),
        transition=False,
    ),
}


# Lines on the timeline that move nothing: offered beside the moves, in any open state.
FOLLOW_UPS: dict[str, Act] = {
    "reply": Act(
        _("Reply to the reporter"),
        REPLY_PERMS,
        forms.ReplyForm,
        lambda c, d, u: actions.reply_to_reporter(c, text=d["text"], actor=u),
        transition=False,
    ),
    "instruct": Act(
        _("Instruct"),
        Perm.INSTRUCT,
        forms.InstructForm,
        lambda c, d, u: actions.instruct_case(c, text=d["text"], actor=u),
        transition=False,
    ),
    "finish_task": Act(
        _("Report our part done"),
        Perm.HANDLE_CASE,
        forms.TaskDoneForm,
        lambda c, d, u: actions.finish_task(c, unit=helper_unit_for(u, c), note=d["note"], actor=u),
        transition=False,
        shown=lambda u, c: any(t.done_at is None for t in helper_tasks_for(u, c)),
    ),
}


def _state_allows(name: str, act: Act, case: Case) -> bool:
    if act.transition:
        return (name, case.state) in TRANSITIONS
    return case.state != CaseState.CLOSED


def available_acts(user, case: Case, acts: dict[str, Act] = ACTS) -> list[str]:
    """The actions this user may take on this case now: the state allows the move, the role
    grants the permission, and the case lies in the scope of that permission."""
    names, in_scope = [], {}

    def allowed(perm: Perm) -> bool:
        if perm not in in_scope:
            in_scope[perm] = (
                has_perm(user, perm) and visible_cases(user, perm).filter(pk=case.pk).exists()
            )
        return in_scope[perm]

    for name, act in acts.items():
        if not _state_allows(name, act, case) or not any(allowed(p) for p in act.perms):
            continue
        if act.shown is None or act.shown(user, case):
            names.append(name)
    return names


def _form_kwargs(name: str, case: Case) -> dict:
    # Several forms share field names on one page; ids must stay unique.
    return {"initial": {"version": case.version}, "auto_id": f"id_{name}_%s"}


def _buttons(user, case: Case, acts: dict[str, Act], failed: str, failed_form) -> list[dict]:
    buttons = []
    for name in available_acts(user, case, acts):
        act = acts[name]
        form = failed_form if name == failed else act.form(**_form_kwargs(name, case))
        url = reverse("case_act", args=[case.pk, name])
        buttons.append(
            {"name": name, "label": act.label, "form": form, "open": name == failed, "url": url}
        )
    return buttons


def _item_form(key: str, form_class, failed: str, failed_form) -> dict:
    form = failed_form if key == failed else form_class(auto_id=f"id_{key}_%s")
    return {"name": key, "form": form, "open": key == failed}


def _supervisions(user, case: Case, now, failed: str, failed_form) -> list[dict]:
    """督办 orders on the case, with an answer form on the open ones this user answers."""
    rows = []
    orders = case.supervisions.select_related("unit", "opened_by", "answered_by")
    for order in orders.order_by("opened_at", "id"):
        is_open = order.state == SupervisionState.OPEN
        row = {"order": order, "overdue": is_open and order.due_at < now, "act": None}
        if is_open and may_answer(user, order):
            row["act"] = _item_form(f"answer-{order.pk}", forms.AnswerForm, failed, failed_form)
            row["act"]["url"] = reverse("answer_supervision", args=[case.pk, order.pk])
        rows.append(row)
    return rows


def _instructions(user, case: Case, failed: str, failed_form) -> list[dict]:
    """批办 on the case, with a result form on the open ones for whoever handles the case."""
    items = list(case.instructions.select_related("leader").order_by("given_at", "id"))
    handles = any(i.result_at is None for i in items) and (
        has_perm(user, Perm.HANDLE_CASE)
        and visible_cases(user, Perm.HANDLE_CASE).filter(pk=case.pk).exists()
    )
    rows = []
    for item in items:
        row = {"item": item, "act": None}
        if handles and item.result_at is None:
            key = f"result-{item.pk}"
            row["act"] = _item_form(key, forms.InstructionResultForm, failed, failed_form)
            row["act"]["url"] = reverse("instruction_result", args=[case.pk, item.pk])
        rows.append(row)
    return rows


def _suggestions(user, case: Case) -> list[dict]:
    """智能分派's top suggestions, shown to whoever may dispatch a case that waits for it."""
    if case.state not in (CaseState.NEW, CaseState.RETURNED) or not has_perm(
        user, Perm.DISPATCH_CASE
    ):
        return []
    rec = case.recommendations.order_by("-created_at", "-id").first()
    if rec is None:
        return []
    # The best three places to send it, then any earlier case it may repeat.
    routes = [c for c in rec.candidates if c.get("rule") != "duplicate"][:3]
    repeats = [c for c in rec.candidates if c.get("rule") == "duplicate"]
    return [
        {"name": c.get("name", ""), "score": round(100 * float(c.get("score", 0))),
         "why": c.get("why", ""), "repeat_of": c.get("master", "")}
        for c in routes + repeats
    ]  # fmt: skip


def _render_case(request, case: Case, *, failed: str = "", failed_form=None, status: int = 200):
    user, now = request.user, timezone.now()
    events = list(case.events.all())
    context = {
        "case": case,
        "colour": deadline_colour(case, now=now),
        "reporter_phone": mask_phone(case.reporter_phone),
        "reporter_name": mask_name(case.reporter_name),
        "events": events,
        "buttons": _buttons(user, case, ACTS, failed, failed_form),
        "follow_ups": _buttons(user, case, FOLLOW_UPS, failed, failed_form),
        "supervisions": _supervisions(user, case, now, failed, failed_form),
        "instructions": _instructions(user, case, failed, failed_form),
        "suggestions": _suggestions(user, case),
    }
    context["colour_label"] = Colour.LABELS[context["colour"]]
    return render(request, "cases/case_detail.html", context, status=status)


@login_required
def case_detail(request, case_id: int):
    return _render_case(request, _case_for(request.user, case_id, Perm.VIEW_CASE))


def _submit(request, case: Case, key: str, form, run: Callable, label):
    """Validate the form, run the action, and come back to the case: with a message on success,
    or with the form, its errors and the domain error's status."""
    if not form.is_valid():
        return _render_case(request, case, failed=key, failed_form=form, status=400)
    try:
        run(form.cleaned_data)
    except DomainError as exc:
        for field, message in exc.fields.items():
            form.add_error(field if field in form.fields else None, message)
        messages.error(request, exc.text())
        case.refresh_from_db()
        return _render_case(request, case, failed=key, failed_form=form, status=exc.status)
    messages.success(request, _("Done: %(action)s.") % {"action": label})
    return redirect("case_detail", case_id=case.pk)


@login_required
@require_POST
def case_act(request, case_id: int, action: str):
    act = ACTS.get(action) or FOLLOW_UPS.get(action)
    if act is None:
        raise Http404()
    case = _case_for(request.user, case_id, *act.perms)

    def run(data):
        seen = data.get("version")
        if seen is not None and seen != case.version:
            raise CaseChangedMeanwhile()
        act.run(case, data, request.user)

    form = act.form(request.POST, auto_id=f"id_{action}_%s")
    return _submit(request, case, action, form, run, act.label)


@login_required
@require_POST
def answer_supervision(request, case_id: int, order_id: int):
    """The unit answers a 督办 order on the case."""
    case = _case_for(request.user, case_id, Perm.VIEW_CASE)
    order = case.supervisions.filter(pk=order_id).first()
    if order is None:
        raise Http404()
    if not may_answer(request.user, order):
        raise DjangoPermissionDenied()
    key = f"answer-{order.pk}"
    form = forms.AnswerForm(request.POST, auto_id=f"id_{key}_%s")
    return _submit(
        request, case, key, form,
        lambda d: actions.answer_supervision(order, answer=d["answer"], actor=request.user),
        _("Answer the supervision"),
    )  # fmt: skip


@login_required
@require_POST
def instruction_result(request, case_id: int, instruction_id: int):
    """The handling unit records the result of a 批办 instruction."""
    case = _case_for(request.user, case_id, Perm.HANDLE_CASE)
    item = case.instructions.filter(pk=instruction_id).first()
    if item is None:
        raise Http404()
    key = f"result-{item.pk}"
    form = forms.InstructionResultForm(request.POST, auto_id=f"id_{key}_%s")
    return _submit(
        request, case, key, form,
        lambda d: actions.record_instruction_result(item, result=d["result"], actor=request.user),
        _("Record the result"),
    )  # fmt: skip
