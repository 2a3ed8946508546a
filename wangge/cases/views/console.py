"""The command centre's console (指挥中心): the queue with its filters, saved views, live refresh
and bulk dispatch; the map; a case with its timeline and the actions the user may take now.
Handlers are thin: scope, form, one action, render."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case as SqlCase
from django.db.models import F, IntegerField, Q, QuerySet, Value, When
from django.forms import Form
from django.http import FileResponse, Http404, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from wangge.accounts.permissions import Perm, active_assignments, has_perm
from wangge.cases import actions, forms
from wangge.cases.deadlines import Colour, deadline_colour, with_colour
from wangge.cases.models import (
    OPEN_STATES,
    TRANSITIONS,
    Case,
    CaseState,
    EventKind,
    SavedView,
    SupervisionState,
)
from wangge.cases.queries import (
    REPLY_PERMS,
    get_case_for,
    get_case_for_any,
    helper_tasks_for,
    helper_unit_for,
    may_answer,
    visible_cases,
)
from wangge.dispatch.actions import dispatch_by_dispatcher
from wangge.grids.models import GridCell, GridLevel
from wangge.lib.errors import (
    CaseChangedMeanwhile,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
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

QUEUE_FILTERS = tuple(forms.QueueFilterForm.base_fields)
# Red first, then yellow, then whatever is due soonest, then the newest.
URGENCY = SqlCase(
    When(colour=Colour.RED, then=Value(0)),
    When(colour=Colour.YELLOW, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def poll_seconds() -> int:
    """How often the open queue asks for its rows again (tests shorten it)."""
    return settings.WANGGE_QUEUE_POLL_SECONDS


def filter_query(params: QueryDict) -> str:
    """The queue filters in `params` as a query string: known fields with a value, nothing else
    (no page number), so it can be saved, polled and linked."""
    kept = QueryDict(mutable=True)
    for key in QUEUE_FILTERS:
        values = [v for v in params.getlist(key) if v.strip()]
        if values:
            kept.setlist(key, values[:1])
    return kept.urlencode()


def filtered_cases(user, filters: forms.QueueFilterForm, *, now) -> QuerySet[Case]:
    """What the user may see, with its deadline colour, narrowed by the valid filters."""
    cases = with_colour(visible_cases(user), now=now)
    if not filters.is_bound:
        return cases
    filters.is_valid()  # a field with an error is left out; the page shows the error
    data = filters.cleaned_data
    if q := (data.get("q") or "").strip():
        cases = cases.filter(Q(title__icontains=q) | Q(tracking_code=q.upper()))
    for field in ("state", "colour", "channel", "unit"):
        if data.get(field):
            cases = cases.filter(**{field: data[field]})
    if data.get("grid"):
        cases = cases.filter(cell__path__startswith=data["grid"].path)
    if category := data.get("category"):
        cases = cases.filter(
            Q(category=category) | Q(category__parent=category)
            | Q(category__parent__parent=category)
        )  # fmt: skip
    if data.get("reported_from"):
        cases = cases.filter(reported_at__date__gte=data["reported_from"])
    if data.get("reported_to"):
        cases = cases.filter(reported_at__date__lte=data["reported_to"])
    if data.get("routing"):
        cases = cases.filter(routing_pending=True)
    return cases


def urgent_first(cases: QuerySet[Case]) -> QuerySet[Case]:
    return cases.annotate(urgency=URGENCY).order_by(
        "urgency", F("due_at").asc(nulls_last=True), "-reported_at", "-id"
    )


def _queue_context(request) -> dict:
    user, now = request.user, timezone.now()
    filters = forms.QueueFilterForm(request.GET or None)
    cases = urgent_first(filtered_cases(user, filters, now=now)).select_related(
        "cell", "unit", "category"
    )
    page = Paginator(cases, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    for case in page:
        case.colour_label = Colour.LABELS[case.colour]
        case.dispatchable = ("dispatch", case.state) in TRANSITIONS
    return {
        "page": page,
        "filters": filters,
        "filter_query": filter_query(request.GET),
        "can_dispatch": has_perm(user, Perm.DISPATCH_CASE),
        "now": now,
    }


def _grid_choices(user) -> list[tuple[str, str]]:
    """(code, name) of the cells down to grid level in the user's grid scopes, for the filter."""
    scopes = [a.cell.path for a in active_assignments(user, Perm.VIEW_CASE) if a.cell]
    if not scopes:
        return []
    q = Q()
    for path in scopes:
        q |= Q(path__startswith=path)
    cells = GridCell.objects.filter(q, level__lte=GridLevel.GRID).order_by("path")
    return list(cells.values_list("code", "name"))


@login_required
def queue(request):
    context = _queue_context(request)
    user = request.user
    context.update(
        saved_views=list(SavedView.objects.filter(user=user).only("name", "query")),
        grid_choices=_grid_choices(user),
        poll_seconds=poll_seconds(),
        page_number=context["page"].number,
    )
    if context["can_dispatch"]:
        context["bulk_form"] = forms.BulkDispatchForm(auto_id="id_bulk_%s")
    return render(request, "cases/queue.html", context)


@login_required
def queue_table(request):
    """The queue's rows alone, as the open page polls them (htmx) with its filters."""
    return render(request, "cases/console/_queue_table.html", _queue_context(request))


# Saved views are the user's own preferences, not the case workflow: kept beside their pages.


def _back_to_queue(query: str):
    return redirect(reverse("queue") + (f"?{query}" if query else ""))


@login_required
@require_POST
def save_view(request):
    form = forms.SavedViewForm(request.POST)
    query = filter_query(QueryDict(request.POST.get("query", "")))
    if not form.is_valid():
        messages.error(request, _("Give the view a name."))
        return _back_to_queue(query)
    view = actions.save_queue_view(request.user, name=form.cleaned_data["name"], query=query)
    messages.success(request, _("Saved the view “%(name)s”.") % {"name": view.name})
    return _back_to_queue(query)


@login_required
@require_POST
def delete_view(request, view_id: int):
    try:
        actions.delete_queue_view(request.user, view_id)
    except NotFound as exc:  # another user's view looks like a missing one
        raise Http404(exc.text()) from exc
    messages.success(request, _("The view was deleted."))
    return redirect("queue")


# --- bulk dispatch ----------------------------------------------------------------------------


@dataclass
class BulkResult:
    case_id: int
    case: Case | None
    error: str = ""


def _error_text(exc: DomainError) -> str:
    details = [str(m) for m in exc.fields.values()]
    return " ".join(details) if details else exc.text()


def _dispatch_one(user, case_id: int, seen: int | None, data: dict) -> BulkResult:
    """One row of a bulk dispatch: its own scope check and transaction, so a case that changed
    meanwhile fails alone."""
    result = BulkResult(case_id, None)
    try:
        result.case = get_case_for(user, case_id, Perm.DISPATCH_CASE)
        if seen is not None and seen != result.case.version:
            raise CaseChangedMeanwhile()
        result.case = dispatch_by_dispatcher(
            result.case, actor=user, unit=data["unit"], assignee=data["assignee"],
            note=data["note"],
        )  # fmt: skip
    except DomainError as exc:
        result.error = _error_text(exc)
    return result


@login_required
@require_POST
def bulk_dispatch(request):
    """派单 of the ticked queue rows, one by one, to one unit or grid worker."""
    if not has_perm(request.user, Perm.DISPATCH_CASE):
        raise DjangoPermissionDenied()
    query = filter_query(QueryDict(request.POST.get("filters", "")))
    form = forms.BulkDispatchForm(request.POST, auto_id="id_bulk_%s")
    picked = forms.BulkDispatchForm.picked(request.POST.getlist("case"))
    if not picked:
        messages.error(request, _("Tick at least one case to dispatch."))
        return _back_to_queue(query)
    if not form.is_valid():
        for error in form.errors.values():
            messages.error(request, " ".join(error))
        return _back_to_queue(query)
    results = [_dispatch_one(request.user, pk, seen, form.cleaned_data) for pk, seen in picked]
    target = form.cleaned_data["unit"] or form.cleaned_data["assignee"]
    return render(
        request,
        "cases/console/bulk_result.html",
        {
            "results": results,
            "target": target,
            "done": sum(1 for r in results if not r.error),
            "failed": sum(1 for r in results if r.error),
            "back": reverse("queue") + (f"?{query}" if query else ""),
        },
    )


# --- the map ----------------------------------------------------------------------------------

MAP_CASE_LIMIT = 3000
# A case on the map without a running clock is coloured by its state.
MAP_STATES = (*OPEN_STATES, CaseState.PAUSED)


def _require_view(user) -> None:
    if not has_perm(user, Perm.VIEW_CASE):
        raise DjangoPermissionDenied()


@login_required
def console_map(request):
    """Grid polygons of the user's part of the grid and their cases, clustered."""
    _require_view(request.user)
    filters = forms.QueueFilterForm(request.GET or None)
    filters.is_valid()
    return render(
        request,
        "cases/console/map.html",
        {
            "map_fields": [filters[name] for name in ("q", "state", "colour", "grid", "category")],
            "filter_query": filter_query(request.GET),
            "tile_url": settings.WANGGE_TILE_URL,
            "tile_attribution": settings.WANGGE_TILE_ATTRIBUTION,
        },
    )


@login_required
def map_grids(request):
    """GeoJSON of the cells down to grid level in the user's grid scopes."""
    _require_view(request.user)
    scopes = [a.cell.path for a in active_assignments(request.user, Perm.VIEW_CASE) if a.cell]
    features = []
    if scopes:
        q = Q()
        for path in scopes:
            q |= Q(path__startswith=path)
        cells = GridCell.objects.filter(q, level__lte=GridLevel.GRID, geometry__isnull=False)
        for code, name, level, geometry in cells.order_by("path").values_list(
            "code", "name", "level", "geometry"
        ):
            features.append(
                {
                    "type": "Feature",
                    "geometry": geometry,
                    "properties": {"code": code, "name": name, "level": level},
                }
            )
    return JsonResponse({"type": "FeatureCollection", "features": features})


@login_required
def map_cases(request):
    """The cases the user may see that have a place, with the queue's filters (open ones when
    no state is asked for), most urgent first."""
    _require_view(request.user)
    filters = forms.QueueFilterForm(request.GET or None)
    cases = filtered_cases(request.user, filters, now=timezone.now())
    if not (filters.is_bound and filters.cleaned_data.get("state")):
        cases = cases.filter(state__in=MAP_STATES)
    rows = list(
        urgent_first(cases.filter(lon__isnull=False, lat__isnull=False)).values(
            "pk", "tracking_code", "title", "state", "colour", "lon", "lat"
        )[: MAP_CASE_LIMIT + 1]
    )
    states = dict(CaseState.choices)
    return JsonResponse(
        {
            "cases": [
                {
                    "id": r["pk"],
                    "code": r["tracking_code"],
                    "title": r["title"],
                    "state": r["state"],
                    "state_label": str(states[r["state"]]),
                    "colour": r["colour"],
                    "colour_label": str(Colour.LABELS[r["colour"]]),
                    "lon": r["lon"],
                    "lat": r["lat"],
                    "url": reverse("case_detail", args=[r["pk"]]),
                }
                for r in rows[:MAP_CASE_LIMIT]
            ],
            "truncated": len(rows) > MAP_CASE_LIMIT,
        }
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
        lambda c, d, u: dispatch_by_dispatcher(
            c,
            actor=u,
            unit=d["unit"],
            assignee=d["assignee"],
            helpers=list(d["helpers"]),
            due_at=d["due_at"],
            note=d["note"],
            category=d["category"],
        ),
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


def _merge(case: Case, data: dict, user) -> None:
    """并案 by hand into a master the user can see."""
    code = data["master"].strip().upper()
    master = visible_cases(user).filter(tracking_code=code).first()
    if master is None:
        raise InvalidInput(fields={"master": _("No case with this tracking code in your scope.")})
    actions.link_duplicate(case, master=master, score=1.0, actor=user)


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
    "merge": Act(
        _("Merge into a master case"),
        Perm.DISPATCH_CASE,
        forms.MergeForm,
        _merge,
        transition=False,
        # Only while the case waits for a dispatcher, as 智能分派's repeat suggestion does.
        shown=lambda u, c: (
            c.state in (CaseState.NEW, CaseState.RETURNED)
            and c.master_id is None
            and not c.duplicates.exists()
        ),
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


def _make_form(form_class, name: str, case: Case, data=None):
    # Several forms share field names on one page; ids must stay unique.
    kwargs: dict = {"auto_id": f"id_{name}_%s"}
    if issubclass(form_class, forms.ActionForm):
        kwargs.update(case=case, initial={"version": case.version})
    return form_class(data, **kwargs)


def _buttons(user, case: Case, acts: dict[str, Act], failed: str, failed_form) -> list[dict]:
    buttons = []
    for name in available_acts(user, case, acts):
        act = acts[name]
        form = failed_form if name == failed else _make_form(act.form, name, case)
        url = reverse("case_act", args=[case.pk, name])
        label = act.label
        if name == "dispatch" and case.state == CaseState.RETURNED:
            label = _("Dispatch again (decide on the return)")
        buttons.append(
            {"name": name, "label": label, "form": form, "open": name == failed, "url": url}
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
    """智能分派's top suggestions, shown to whoever may dispatch a case that waits for it, with
    what a one-click dispatch (or merge) sends."""
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
         "why": c.get("why", ""), "repeat_of": c.get("master", ""),
         "unit": c.get("unit") or "", "assignee": c.get("assignee") or "",
         "category": c.get("category", ""), "category_name": c.get("category_name", "")}
        for c in routes + repeats
    ]  # fmt: skip


def _linked(user, case: Case) -> dict:
    """并案 links the user may follow: the master this case repeats, and its repeats."""
    seen = visible_cases(user)
    master = seen.filter(pk=case.master_id).first() if case.master_id else None
    repeats = list(seen.filter(master=case).order_by("reported_at", "id"))
    return {"master": master, "repeats": repeats}


def _last_return(case: Case):
    """Why the unit returned the case, for the dispatcher who decides on it (退单仲裁)."""
    if case.state != CaseState.RETURNED:
        return None
    return case.events.filter(kind=EventKind.RETURN).order_by("-occurred_at", "-id").first()


def _may_reveal(user, case: Case) -> bool:
    return (
        bool(case.reporter_phone)
        and not case.anonymous
        and has_perm(user, Perm.REVEAL_CONTACT)
        and visible_cases(user, Perm.REVEAL_CONTACT).filter(pk=case.pk).exists()
    )


def _render_case(
    request,
    case: Case,
    *,
    failed: str = "",
    failed_form=None,
    status: int = 200,
    revealed_phone: str = "",
    reveal_form=None,
):
    user, now = request.user, timezone.now()
    events = list(case.events.all())
    attachments = list(case.attachments.order_by("uploaded_at", "id"))
    for a in attachments:
        a.is_image = a.content_type.startswith("image/")
    may_reveal = _may_reveal(user, case) and not revealed_phone
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
        "attachments": attachments,
        "returned": _last_return(case),
        "revealed_phone": revealed_phone,
        "reveal_form": (reveal_form or forms.RevealForm(auto_id="id_reveal_%s"))
        if may_reveal
        else None,
        **_linked(user, case),
    }
    names = {b["name"] for b in context["buttons"] + context["follow_ups"]}
    context["one_click_dispatch"] = "dispatch" in names
    context["one_click_merge"] = "merge" in names
    context["colour_label"] = Colour.LABELS[context["colour"]]
    response = render(request, "cases/case_detail.html", context, status=status)
    if revealed_phone:  # a clear number must not linger in a cache
        patch_cache_control(response, no_store=True, private=True)
    return response


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

    form = _make_form(act.form, action, case, request.POST)
    return _submit(request, case, action, form, run, act.label)


@login_required
@require_POST
def reveal_phone(request, case_id: int):
    """The reporter's clear phone number, for a stated purpose; the read is logged."""
    case = _case_for(request.user, case_id, Perm.REVEAL_CONTACT)
    form = forms.RevealForm(request.POST, auto_id="id_reveal_%s")
    if not form.is_valid():
        return _render_case(request, case, reveal_form=form, status=400)
    try:
        phone = actions.reveal_reporter_phone(
            case, purpose=form.cleaned_data["purpose"], actor=request.user
        )
    except DomainError as exc:
        form.add_error(None, _error_text(exc))
        return _render_case(request, case, reveal_form=form, status=exc.status)
    return _render_case(request, case, revealed_phone=phone)


@login_required
def case_attachment(request, case_id: int, attachment_id: int):
    """A file of a case, to whoever may see the case (media is not served publicly)."""
    case = _case_for(request.user, case_id, Perm.VIEW_CASE)
    item = case.attachments.filter(pk=attachment_id).first()
    if item is None:
        raise Http404()
    image = item.content_type.startswith("image/")
    response = FileResponse(
        item.file.open("rb"),
        content_type=item.content_type,
        as_attachment=not image,
        filename=item.original_name,
    )
    response["X-Content-Type-Options"] = "nosniff"
    patch_cache_control(response, private=True)
    return response


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
