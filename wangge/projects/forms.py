"""HTML input for the projects actions: validated here, decided and saved by `actions`."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from wangge.accounts.models import Unit
from wangge.projects.actions import COMMENT_MAX, MAX_PHOTOS, NOTE_MAX
from wangge.projects.models import ProjectState, SupervisionKind


class PhotoInput(forms.FileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Several photos from one file input; size, type and count are the action's to judge."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", PhotoInput(attrs={"accept": "image/jpeg,image/png,image/webp"}))
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text", _("Up to %(n)s photos (JPEG, PNG or WebP).") % {"n": MAX_PHOTOS}
        )
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        return [super(PhotosField, self).clean(f, initial) for f in files if f]


class DateInput(forms.DateInput):
    input_type = "date"


class ProjectForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    cell = forms.ChoiceField(label=_("Serves (grid)"))
    owner_unit = forms.ModelChoiceField(
        label=_("Owner unit"), queryset=Unit.objects.filter(is_active=True)
    )
    budget = forms.DecimalField(
        label=_("Budget (yuan)"), min_value=Decimal("0"), max_digits=14, decimal_places=2
    )
    weight = forms.DecimalField(
        label=_("Weight in the parent project (empty: its budget)"),
        required=False,
        min_value=Decimal("0"),
        max_digits=14,
        decimal_places=2,
    )
    start_date = forms.DateField(label=_("Start"), required=False, widget=DateInput)
    planned_end = forms.DateField(label=_("Planned end"), required=False, widget=DateInput)

    def __init__(self, *args, cells=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cell"].choices = [
            (c.code, f"{'—' * (c.level - 1)} {c.name}".strip()) for c in cells
        ]


class ProgressForm(forms.Form):
    progress = forms.DecimalField(
        label=_("Progress (%)"),
        min_value=Decimal("0"),
        max_value=Decimal("100"),
        max_digits=5,
        decimal_places=2,
    )
    note = forms.CharField(
        label=_("Work done since the last report"),
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    photos = PhotosField(label=_("Photos"))
    key = forms.CharField(widget=forms.HiddenInput, max_length=100, required=False)


class StateForm(forms.Form):
    to = forms.ChoiceField(label=_("New state"), choices=ProjectState.choices)
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


class MilestoneForm(forms.Form):
    title = forms.CharField(label=_("Milestone"), max_length=200)
    due_date = forms.DateField(label=_("Due"), required=False, widget=DateInput)


class ReachForm(forms.Form):
    done_on = forms.DateField(label=_("Reached on"), widget=DateInput)


class SupervisionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Record"), choices=SupervisionKind.choices)
    text = forms.CharField(
        label=_("Comment or findings"),
        max_length=NOTE_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    rating = forms.TypedChoiceField(
        label=_("Rating"),
        choices=[("", "—")] + [(str(n), str(n)) for n in range(1, 6)],
        coerce=int,
        empty_value=None,
        required=False,
    )
    visit_date = forms.DateField(label=_("Day of the visit"), required=False, widget=DateInput)
    photos = PhotosField(label=_("Photos"))


class CommentForm(forms.Form):
    body = forms.CharField(
        label=_("Your opinion or suggestion"),
        max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": COMMENT_MAX}),
        help_text=_("It shows on the project's page after review."),
    )
    phone = forms.CharField(
        label=_("Mobile number (optional)"),
        max_length=20,
        required=False,
        help_text=_(
            "Only for a reply from the community; never shown. Leave empty to stay anonymous."
        ),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    key = forms.CharField(widget=forms.HiddenInput, max_length=100)


class ModerateForm(forms.Form):
    reason = forms.CharField(label=_("Reason (for hiding)"), max_length=500, required=False)
