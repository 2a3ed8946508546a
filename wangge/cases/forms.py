"""HTML input for the case pages: each form validates one action's fields and never saves;
the view hands the cleaned data to the action in `actions.py`."""

from django import forms
from django.utils.translation import gettext_lazy as _

from wangge.accounts.models import Unit
from wangge.cases.deadlines import Colour
from wangge.cases.models import CaseState, Outcome, Satisfaction, SupervisionLevel


class QueueFilterForm(forms.Form):
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


class ActionForm(forms.Form):
    """Base of every action form. `version` is the case version the page showed: a click on a
    page that is out of date is refused instead of acting on a case the user has not seen."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class DispatchForm(ActionForm):
    unit = forms.ModelChoiceField(
        label=_("Lead unit"), queryset=Unit.objects.filter(is_active=True).order_by("code")
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=1000, widget=forms.TextInput)


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
