"""HTML input for the case pages: each form validates one action's fields and never saves;
the view hands the cleaned data to the action in `actions.py`."""

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wangge.accounts.models import Role, Unit, User
from wangge.cases.deadlines import Colour
from wangge.cases.models import (
    Case,
    CaseState,
    Category,
    Channel,
    Outcome,
    Satisfaction,
    SupervisionLevel,
)
from wangge.grids.models import GridCell


def active_units():
    return Unit.objects.filter(is_active=True).order_by("code")


def grid_workers(within: str = "/"):
    """People on a grid worker's duty roster (in the grid subtree `within`, a path), the other
    kind of dispatch target."""
    return (
        User.objects.filter(
            is_active=True,
            assignments__role=Role.GRID_WORKER,
            assignments__is_active=True,
            assignments__cell__path__startswith=within,
        )
        .distinct()
        .order_by("display_name", "username")
    )


class CategoryChoiceField(forms.ModelChoiceField):
    """Categories by code, shown with the code so the tree reads in order."""

    def __init__(self, **kwargs):
        active = Category.objects.filter(is_active=True).order_by("code")
        kwargs.setdefault("queryset", active.only("code", "name"))
        super().__init__(to_field_name="code", **kwargs)

    def label_from_instance(self, obj):
        return f"{obj.code} {obj.name}"


class QueueFilterForm(forms.Form):
    """The queue's filters; every one narrows what the user may already see."""

    q = forms.CharField(
        label=_("Search title or tracking code"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", _("All states")), *CaseState.choices]
    )
    colour = forms.ChoiceField(
        label=_("Deadline"),
        required=False,
        choices=[
            ("", _("All deadlines")),
            *((c, Colour.LABELS[c]) for c in (Colour.RED, Colour.YELLOW, Colour.GREEN)),
        ],
    )
    grid = forms.CharField(
        label=_("Grid code (with everything under it)"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"list": "grid-codes", "autocomplete": "off"}),
    )
    unit = forms.ModelChoiceField(
        label=_("Unit"), required=False, queryset=active_units(), empty_label=_("All units")
    )
    category = CategoryChoiceField(
        label=_("Category"), required=False, empty_label=_("All categories")
    )
    channel = forms.ChoiceField(
        label=_("Channel"), required=False, choices=[("", _("All channels")), *Channel.choices]
    )
    reported_from = forms.DateField(
        label=_("Reported from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    reported_to = forms.DateField(
        label=_("Reported until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    routing = forms.BooleanField(label=_("Only cases awaiting 智能分派"), required=False)

    def clean_grid(self):
        ref = self.cleaned_data["grid"].strip()
        if not ref:
            return None
        cell = (
            GridCell.objects.filter(Q(code=ref) | Q(name=ref))
            .only("path", "code", "name")
            .order_by("level", "code")
            .first()
        )
        if cell is None:
            raise forms.ValidationError(_("No grid has this code or name."))
        return cell

    def clean(self):
        data = super().clean()
        start, end = data.get("reported_from"), data.get("reported_to")
        if start and end and start > end:
            self.add_error("reported_to", _("The end date is before the start date."))
        return data


class SavedViewForm(forms.Form):
    name = forms.CharField(label=_("Name of this view"), max_length=60)
    query = forms.CharField(required=False, max_length=1000, widget=forms.HiddenInput)


class BulkDispatchForm(forms.Form):
    """派单 of several queue rows at once; each row is sent as "case id:version seen"."""

    unit = forms.ModelChoiceField(
        label=_("Lead unit"), required=False, queryset=active_units(), empty_label="—"
    )
    assignee = forms.ModelChoiceField(
        label=_("Or a grid worker"), required=False, queryset=grid_workers(), empty_label="—"
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=1000)

    def clean(self):
        data = super().clean()
        if bool(data.get("unit")) == bool(data.get("assignee")):
            raise forms.ValidationError(_("Choose either a unit or a grid worker."))
        return data

    @staticmethod
    def picked(values: list[str]) -> list[tuple[int, int | None]]:
        """(case id, version seen) of the ticked rows, in their order, without repeats."""
        seen, out = set(), []
        for value in values:
            pk, _sep, version = value.partition(":")
            if not pk.isdigit() or int(pk) in seen:
                continue
            seen.add(int(pk))
            out.append((int(pk), int(version) if version.isdigit() else None))
        return out


class ActionForm(forms.Form):
    """Base of every action form. `version` is the case version the page showed: a click on a
    page that is out of date is refused instead of acting on a case the user has not seen."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, case: Case | None = None, **kwargs):
        super().__init__(*args, **kwargs)


class DispatchForm(ActionForm):
    unit = forms.ModelChoiceField(label=_("Lead unit"), required=False, queryset=active_units())
    helpers = forms.ModelMultipleChoiceField(
        label=_("Helping units (joint handling)"),
        required=False,
        queryset=active_units(),
        widget=forms.SelectMultiple(attrs={"size": 5}),
    )
    assignee = forms.ModelChoiceField(
        label=_("Or a grid worker"), required=False, queryset=grid_workers()
    )
    due_at = forms.DateTimeField(
        label=_("Deadline (empty: by the category's rules)"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    category = CategoryChoiceField(label=_("Correct the category"), required=False)
    note = forms.CharField(label=_("Note"), required=False, max_length=1000, widget=forms.TextInput)

    def __init__(self, *args, case: Case | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if case is not None and not self.is_bound:
            # Offer the grid workers of the case's township, not the whole county's.
            township = "/".join(case.cell.path.split("/")[:3]) + "/"
            self.fields["assignee"].queryset = grid_workers(township)


class ReasonForm(ActionForm):
    reason = forms.CharField(label=_("Reason"), max_length=2000)


class OptionalReasonForm(ActionForm):
    reason = forms.CharField(label=_("Reason"), required=False, max_length=2000)


class ResolveForm(ActionForm):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Outcome.choices)
    note = forms.CharField(label=_("What was done"), max_length=5000, widget=forms.Textarea)


class RateForm(ActionForm):
    satisfaction = forms.ChoiceField(label=_("Satisfaction"), choices=Satisfaction.choices)
    comment = forms.CharField(label=_("Comment"), required=False, max_length=2000)


class SuperviseForm(ActionForm):
    level = forms.ChoiceField(label=_("Level"), choices=SupervisionLevel.choices)
    demand = forms.CharField(label=_("Demand"), max_length=2000)
    due_at = forms.DateTimeField(
        label=_("Answer by"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )


class ReplyForm(forms.Form):
    """反馈: the reporter reads this on the tracking page exactly as written."""

    text = forms.CharField(label=_("Reply"), max_length=2000, widget=forms.Textarea)


class InstructForm(forms.Form):
    text = forms.CharField(label=_("Instruction"), max_length=2000, widget=forms.Textarea)


class InstructionResultForm(forms.Form):
    result = forms.CharField(label=_("Result"), max_length=5000, widget=forms.Textarea)


class TaskDoneForm(forms.Form):
    note = forms.CharField(label=_("What was done"), max_length=5000, widget=forms.Textarea)


class AnswerForm(forms.Form):
    answer = forms.CharField(label=_("Answer"), max_length=5000, widget=forms.Textarea)


class MergeForm(forms.Form):
    """并案 by hand: the tracking code of the case this one repeats."""

    master = forms.CharField(label=_("Tracking code of the master case"), max_length=16)


class RevealForm(forms.Form):
    purpose = forms.CharField(label=_("Why do you need the number?"), max_length=500)
