"""12345 热线受理: the hotline operator's page, one form fast with the keyboard alone.

While the operator types, the page asks `suggest` (debounced) for what the words already tell:
智能分派's suggestion (the classifier's top three when a model is active, the rules' unit for
the chosen category), the grid the text names (定位 by place name) and open cases it likely
repeats (并案). All of it is read only: nothing is stored until the call is submitted.

Submitting takes the call in through `intake_case` with a key the page carries, so a double
submit (two Ctrl+Enter, a retry after a timeout) makes one case. An operator who may also
dispatch can send the case at once (`dispatch_by_dispatcher`) when 智能分派 left it waiting.
"""

import uuid

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from wangge.accounts.models import Unit
from wangge.accounts.permissions import Perm, has_perm
from wangge.cases.models import Case, CaseState, Category, Channel, Priority
from wangge.cases.queries import active_category, visible_cases
from wangge.dispatch.actions import (
    ROUTER,
    classifier_suggestions,
    dispatch_by_dispatcher,
    intake_case,
    rule_suggestions,
)
from wangge.dispatch.duplicates import find_duplicates
from wangge.dispatch.places import extract_place, place_case
from wangge.grids.models import GridCell, GridLevel
from wangge.lib.errors import DomainError
from wangge.lib.masking import mask_phone

# The case the operator's last submit took in, shown once above the blank form.
LAST_CALL = "operator_last_call"
PHONE_CHARS = set("0123456789+-")


def _require_operator(user) -> None:
    if not has_perm(user, Perm.REPORT_CASE):
        raise DjangoPermissionDenied(_("Your role does not allow this."))


def category_choice(value: str) -> Category | None:
    """The category an operator typed: "0201", "0201 路灯损坏" (the list's form) or "路灯损坏"."""
    value = (value or "").strip()
    if not value:
        return None
    found = active_category(value.split()[0])
    if found is None:
        code = (
            Category.objects.filter(name=value, is_active=True)
            .values_list("code", flat=True)
            .first()
        )
        found = active_category(code) if code else None
    return found


def category_label(category: Category) -> str:
    """How a category reads in the field and the list: code, then name."""
    return f"{category.code} {category.name}"


class CategoryField(forms.CharField):
    """A text box with a list to type into; cleans to an active category or None."""

    default_error_messages = {
        "unknown": gettext_lazy("Unknown category: type its code or name, or pick from the list.")
    }

    def clean(self, value):
        value = super().clean(value)
        category = category_choice(value)
        if value and category is None:
            raise forms.ValidationError(self.error_messages["unknown"], code="unknown")
        return category


def _text_input(**attrs) -> forms.TextInput:
    return forms.TextInput(attrs={"autocomplete": "off", **attrs})


class CallForm(forms.Form):
    """One call, in the order the operator asks: who calls, what happened, where, what kind."""

    reporter_phone = forms.CharField(
        label=gettext_lazy("Caller's phone"),
        required=False,
        max_length=20,
        widget=_text_input(type="tel", inputmode="tel", autofocus=True),
    )
    reporter_name = forms.CharField(
        label=gettext_lazy("Caller's name"), required=False, max_length=50, widget=_text_input()
    )
    anonymous = forms.BooleanField(
        label=gettext_lazy("Caller wishes to stay anonymous"), required=False
    )
    title = forms.CharField(
        label=gettext_lazy("What happened (one line)"),
        max_length=200,
        widget=_text_input(**{"class": "suggest-src"}),
    )
    description = forms.CharField(
        label=gettext_lazy("Details"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4, "class": "suggest-src"}),
    )
    address = forms.CharField(
        label=gettext_lazy("Address or place"),
        required=False,
        max_length=300,
        widget=_text_input(**{"class": "suggest-src"}),
    )
    category = CategoryField(
        label=gettext_lazy("Category"),
        required=False,
        help_text=gettext_lazy("Type a code or a name; Alt+1 to Alt+3 take a suggestion."),
        widget=_text_input(list="category-options", **{"class": "suggest-src"}),
    )
    priority = forms.ChoiceField(
        label=gettext_lazy("Priority"),
        choices=Priority.choices,
        initial=Priority.NORMAL,
        widget=forms.Select(attrs={"data-reset": Priority.NORMAL}),
    )
    dispatch_unit = forms.ModelChoiceField(
        label=gettext_lazy("Dispatch now to"),
        required=False,
        queryset=Unit.objects.filter(is_active=True).order_by("code"),
        empty_label=gettext_lazy("— leave it to 智能分派 —"),
        help_text=gettext_lazy("Used only if 智能分派 does not dispatch the case by itself."),
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)

    def __init__(self, *args, may_dispatch: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not may_dispatch:
            del self.fields["dispatch_unit"]

    def clean_reporter_phone(self) -> str:
        phone = "".join(self.cleaned_data["reporter_phone"].split())
        digits = phone.replace("-", "").replace("+", "")
        if phone and not (set(phone) <= PHONE_CHARS and digits.isdigit() and len(phone) >= 5):
            raise forms.ValidationError(_("Not a phone number."), code="phone")
        return phone


class SuggestForm(forms.Form):
    """What the suggestions read: the words of the call and the category typed so far."""

    title = forms.CharField(required=False)
    description = forms.CharField(required=False)
    address = forms.CharField(required=False)
    category = forms.CharField(required=False)


# --- suggestions (read only) ----------------------------------------------------------------------


def _place(cell: GridCell, matched: str, confidence: float) -> dict:
    below_county = [c for c in cell.ancestors() if c.level != GridLevel.COUNTY]
    return {
        "cell_id": cell.pk,
        "code": cell.code,
        "name": cell.name,
        "level": str(cell.level_label),
        "path": [c.name for c in [*below_county, cell]],
        "matched": matched,
        "confidence": confidence,
    }


def suggestions_for(user, *, title: str, description: str, address: str, category_text: str):
    """What 智能分派, 定位 and 并案 would make of this call now, without storing anything."""
    now = timezone.now()
    text = "\n".join(t for t in (title, description, address) if t.strip())
    category = category_choice(category_text)
    found = extract_place(text) if text else None
    cell = found.cell if found else GridCell.objects.filter(level=GridLevel.COUNTY).first()
    out = {
        "place": _place(found.cell, found.matched, found.confidence) if found else None,
        "router": ROUTER,
        "categories": [],
        "routes": [],
        "category": category_label(category) if category else "",
        "category_unknown": bool(category_text.strip()) and category is None,
        "repeats": [],
    }
    if cell is None:  # no grid set up yet: nothing to suggest
        return out
    # An unsaved case as intake would make it: the routing and screening read only its fields.
    probe = Case(
        channel=Channel.HOTLINE,
        title=title,
        description=description,
        address=address,
        cell=cell,
        handling_cell=cell,
        reported_at=now,
    )
    model, rows = classifier_suggestions(probe) if (title + description).strip() else (None, None)
    if rows:
        out["router"] = model.version
        out["categories"] = [
            {
                "code": r["category"],
                "name": r["category_name"],
                "label": f"{r['category']} {r['category_name']}",
                "unit": r["name"],
                "confidence": r["score"],
                "percent": round(100 * r["score"]),
            }
            for r in rows
        ]
    if category is not None:
        probe.category = category
        out["routes"] = [
            {"rule": r["rule"], "name": r["name"], "why": r["why"], "certain": r["certain"]}
            for r in rule_suggestions(probe, category)
        ]
    if text:
        repeats = find_duplicates(probe, now=now)
        linked = set(
            visible_cases(user)
            .filter(pk__in=[r.case.pk for r in repeats])
            .values_list("pk", flat=True)
        )
        out["repeats"] = [
            {
                "id": r.case.pk,
                "tracking_code": r.case.tracking_code,
                "title": r.case.title,
                "cell": r.case.cell.name,
                "score": r.score,
                "percent": round(100 * r.score),
                "url": reverse("case_detail", args=[r.case.pk]) if r.case.pk in linked else "",
            }
            for r in repeats[:5]
        ]
    return out


@login_required
@require_POST
def suggest(request):
    """The suggestions for the words typed so far: an htmx partial, or JSON when asked for."""
    _require_operator(request.user)
    form = SuggestForm(request.POST)
    form.is_valid()  # every field is optional free text
    data = suggestions_for(
        request.user,
        title=form.cleaned_data.get("title", ""),
        description=form.cleaned_data.get("description", ""),
        address=form.cleaned_data.get("address", ""),
        category_text=form.cleaned_data.get("category", ""),
    )
    if not request.htmx and "application/json" in request.headers.get("Accept", ""):
        return JsonResponse(data)
    return render(request, "cases/operator/_suggestions.html", {"s": data})


# --- taking the call in ---------------------------------------------------------------------------


def _dispatch_now(user, case: Case, unit: Unit) -> str:
    """派单 at once to the unit the operator chose; returns why not, if it was not done."""
    if case.state != CaseState.NEW:
        return _("Not dispatched by hand: 智能分派 had already handled the case.")
    # When 智能分派 runs in the worker it has not placed the case yet: 定位 first, so the case
    # is dispatched where the caller said (and the scope below is judged there).
    case = place_case(case)
    if not visible_cases(user, Perm.DISPATCH_CASE).filter(pk=case.pk).exists():
        return _("Not dispatched: the case lies outside the area you dispatch for.")
    try:
        dispatch_by_dispatcher(case, unit=unit, actor=user)
    except DomainError as exc:
        return _("Not dispatched: %(reason)s") % {"reason": exc.text()}
    return ""


def take_call(user, data: dict) -> tuple[Case, bool, str]:
    """上报 through the hotline channel, then 派单 if the operator chose a unit. Returns (case,
    created, a note when the chosen dispatch was not made). The dispatch is its own step: a
    call is kept even when it cannot be sent yet."""
    case, created = intake_case(
        channel=Channel.HOTLINE,
        title=data["title"],
        description=data["description"],
        address=data["address"],
        category=data["category"],
        priority=data["priority"],
        reporter_name=data["reporter_name"],
        reporter_phone=data["reporter_phone"],
        anonymous=data["anonymous"],
        idempotency_key=data["idempotency_key"],
        actor=user,
    )
    unit = data.get("dispatch_unit")
    note = _dispatch_now(user, case, unit) if created and unit is not None else ""
    return case, created, note


def _last_call(user, last: dict | None) -> dict | None:
    if not last:
        return None
    case = (
        Case.objects.select_related("unit", "assignee", "cell", "master")
        .filter(pk=last["id"])
        .first()
    )
    if case is None:
        return None
    code = case.tracking_code
    return {
        "case": case,
        "code_head": code[: len(code) // 2],
        "code_tail": code[len(code) // 2 :],
        "phone": mask_phone(case.reporter_phone),
        "created": last["created"],
        "note": last["note"],
        "url": reverse("case_detail", args=[case.pk])
        if visible_cases(user).filter(pk=case.pk).exists()
        else "",
        "track_url": reverse("track_case", args=[code]),
    }


def _render(request, form: CallForm, *, last: dict | None = None, status: int = 200):
    categories = Category.objects.filter(is_active=True).order_by("code")
    context = {
        "form": form,
        "last": last,
        "category_options": [category_label(c) for c in categories],
    }
    return render(request, "cases/operator/entry.html", context, status=status)


def _blank_form(may_dispatch: bool) -> CallForm:
    return CallForm(initial={"idempotency_key": uuid.uuid4().hex}, may_dispatch=may_dispatch)


@login_required
def entry(request):
    """The page: a blank form (with the last call's tracking code above it), or the submit."""
    user = request.user
    _require_operator(user)
    may_dispatch = has_perm(user, Perm.DISPATCH_CASE)
    if request.method != "POST":
        last = _last_call(user, request.session.pop(LAST_CALL, None))
        return _render(request, _blank_form(may_dispatch), last=last)
    form = CallForm(request.POST, may_dispatch=may_dispatch)
    if not form.is_valid():
        return _render(request, form, status=400)
    try:
        case, created, note = take_call(user, form.cleaned_data)
    except DomainError as exc:
        for field, message in exc.fields.items():
            form.add_error(field if field in form.fields else None, message)
        if not exc.fields:
            form.add_error(None, exc.text())
        return _render(request, form, status=exc.status)
    request.session[LAST_CALL] = {"id": case.pk, "created": created, "note": note}
    # Post/redirect/get: a reload shows the blank form instead of posting the call again.
    return redirect("operator_entry")
