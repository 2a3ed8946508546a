"""Server-rendered pages: the dispatcher's queue, a case with its timeline and the actions the
user may take now, and the public tracking page. Handlers are thin: scope, form, one action."""

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from wangge.accounts.permissions import Perm, has_perm
from wangge.cases import actions, forms
from wangge.cases.deadlines import Colour, deadline_colour, with_colour
from wangge.cases.models import (
    TRANSITIONS,
    Audience,
    Case,
    CaseState,
    EventKind,
    Outcome,
    Satisfaction,
)
from wangge.cases.queries import get_case_by_tracking_code, get_case_for, visible_cases
from wangge.lib.errors import CaseChangedMeanwhile, DomainError, NotFound, PermissionDenied
from wangge.lib.masking import mask_name, mask_phone

QUEUE_PAGE_SIZE = 50


def home(request):
    return redirect("/queue/" if request.user.is_authenticated else "/login/")


def _case_for(user, case_id: int, perm: Perm) -> Case:
    """get_case_for with its domain errors turned into Django's 404 and 403."""
    try:
        return get_case_for(user, case_id, perm)
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
    perm: Perm
    form: type[forms.ActionForm]
    run: Any  # (case, cleaned_data, user) -> None
    transition: bool = True  # False: adds events only (督办), allowed in any open state


ACTS: dict[str, Act] = {
    "dispatch": Act(
        _("Dispatch"),
        Perm.DISPATCH_CASE,
        forms.DispatchForm,
        lambda c, d, u: actions.dispatch_case(c, unit=d["unit"], note=d["note"], actor=u),
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


def _state_allows(name: str, act: Act, case: Case) -> bool:
    if act.transition:
        return (name, case.state) in TRANSITIONS
    return case.state != CaseState.CLOSED


def available_acts(user, case: Case) -> list[str]:
    """The actions this user may take on this case now: the state allows the move, the role
    grants the permission, and the case lies in the scope of that permission."""
    names, in_scope = [], {}
    for name, act in ACTS.items():
        if not _state_allows(name, act, case) or not has_perm(user, act.perm):
            continue
        if act.perm not in in_scope:
            in_scope[act.perm] = visible_cases(user, act.perm).filter(pk=case.pk).exists()
        if in_scope[act.perm]:
            names.append(name)
    return names


def _form_kwargs(name: str, case: Case) -> dict:
    # Several forms share field names on one page; ids must stay unique.
    return {"initial": {"version": case.version}, "auto_id": f"id_{name}_%s"}


def _render_case(request, case: Case, *, failed: str = "", failed_form=None, status: int = 200):
    buttons = []
    for name in available_acts(request.user, case):
        act = ACTS[name]
        form = failed_form if name == failed else act.form(**_form_kwargs(name, case))
        buttons.append({"name": name, "label": act.label, "form": form, "open": name == failed})
    events = list(case.events.all())
    context = {
        "case": case,
        "colour": deadline_colour(case, now=timezone.now()),
        "reporter_phone": mask_phone(case.reporter_phone),
        "reporter_name": mask_name(case.reporter_name),
        "events": events,
        "buttons": buttons,
    }
    context["colour_label"] = Colour.LABELS[context["colour"]]
    return render(request, "cases/case_detail.html", context, status=status)


@login_required
def case_detail(request, case_id: int):
    return _render_case(request, _case_for(request.user, case_id, Perm.VIEW_CASE))


@login_required
@require_POST
def case_act(request, case_id: int, action: str):
    act = ACTS.get(action)
    if act is None:
        raise Http404()
    case = _case_for(request.user, case_id, act.perm)
    form = act.form(request.POST, auto_id=f"id_{action}_%s")
    if not form.is_valid():
        return _render_case(request, case, failed=action, failed_form=form, status=400)
    try:
        seen = form.cleaned_data.get("version")
        if seen is not None and seen != case.version:
            raise CaseChangedMeanwhile()
        act.run(case, form.cleaned_data, request.user)
    except DomainError as exc:
        for field, message in exc.fields.items():
            form.add_error(field if field in form.fields else None, message)
        messages.error(request, exc.text())
        case.refresh_from_db()
        return _render_case(request, case, failed=action, failed_form=form, status=exc.status)
    messages.success(request, _("Done: %(action)s.") % {"action": act.label})
    return redirect("case_detail", case_id=case.pk)


# --- public tracking --------------------------------------------------------------------------


def public_wording(event) -> str:
    """What residents read for a timeline event: built from its kind and public facts only
    (unit and grid names), never staff names, reasons or notes."""
    data = event.data or {}
    kind = event.kind
    if kind == EventKind.REPORT:
        return str(_("Your request was received"))
    if kind == EventKind.DISPATCH:
        if data.get("unit"):
            return str(_("Dispatched to %(unit)s")) % {"unit": data["unit"]}
        return str(_("Dispatched to the grid worker"))
    if kind == EventKind.ACCEPT:
        return str(_("The handling unit accepted the case"))
    if kind == EventKind.START:
        return str(_("Handling has started"))
    if kind == EventKind.PAUSE:
        return str(_("Handling is paused while waiting for information"))
    if kind == EventKind.RESUME:
        return str(_("Handling has resumed"))
    if kind == EventKind.RESOLVE:
        outcome = data.get("outcome")
        if outcome in Outcome.values:
            return str(_("Handled: %(outcome)s")) % {"outcome": Outcome(outcome).label}
        return str(_("Handled"))
    if kind == EventKind.RATE:
        rating = data.get("satisfaction")
        if rating in Satisfaction.values:
            return str(_("Rated: %(rating)s")) % {"rating": Satisfaction(rating).label}
        return str(_("Rated"))
    if kind == EventKind.REOPEN:
        return str(_("Reopened for further handling"))
    if kind == EventKind.CLOSE:
        return str(_("Closed"))
    if kind == EventKind.ESCALATE:
        return str(_("Passed up to %(level)s")) % {"level": data.get("to", "")}
    if kind == EventKind.SUPERVISE:
        return str(_("The command centre is supervising this case"))
    if kind == EventKind.REPLY:
        return str(_("Reply: %(text)s")) % {"text": data.get("text", "")}
    return str(EventKind(kind).label) if kind in EventKind.values else ""


def track(request, code: str = ""):
    code = code or request.GET.get("code", "").strip()
    form = forms.TrackForm(initial={"code": code})
    if not code:
        return render(request, "cases/track.html", {"form": form})
    if "code" in request.GET:
        return redirect("track_case", code=code.upper())
    try:
        case = get_case_by_tracking_code(code)
    except NotFound:
        return render(request, "cases/track.html", {"form": form, "unknown": code}, status=404)
    events = case.events.filter(audience=Audience.PUBLIC)
    timeline = [{"at": e.occurred_at, "text": public_wording(e)} for e in events]
    context = {"form": form, "case": case, "timeline": timeline}
    return render(request, "cases/track.html", context)
