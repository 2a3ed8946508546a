"""Residents' pages: tracking by code with the public timeline (no personal data anywhere).
Report form, QR codes, rating and public grid pages come here too."""

from django import forms
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from wangge.cases.models import Audience, EventKind, Outcome, Satisfaction
from wangge.cases.queries import get_case_by_tracking_code
from wangge.lib.errors import NotFound


class TrackForm(forms.Form):
    code = forms.CharField(label=_("Tracking code"), max_length=16)


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
    if kind == EventKind.MERGE:
        return str(_("Handled together with %(code)s, reported earlier")) % {
            "code": data.get("master", "")
        }
    return str(EventKind(kind).label) if kind in EventKind.values else ""


def track(request, code: str = ""):
    code = code or request.GET.get("code", "").strip()
    form = TrackForm(initial={"code": code})
    if not code:
        return render(request, "cases/portal/track.html", {"form": form})
    if "code" in request.GET:
        return redirect("track_case", code=code.upper())
    try:
        case = get_case_by_tracking_code(code)
    except NotFound:
        return render(
            request, "cases/portal/track.html", {"form": form, "unknown": code}, status=404
        )
    events = case.events.filter(audience=Audience.PUBLIC)
    timeline = [{"at": e.occurred_at, "text": public_wording(e)} for e in events]
    context = {"form": form, "case": case, "timeline": timeline}
    return render(request, "cases/portal/track.html", context)
