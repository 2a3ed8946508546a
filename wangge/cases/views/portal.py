"""Residents' pages (群众端), used without logging in: report a problem (随手拍, with a pin on
the map and photos), QR codes and a printable poster per grid, tracking by code with the public
timeline and the rating, and a public page per grid. The tracking code is the resident's only
credential. No personal data reaches any of these pages, and nothing is loaded from outside."""

import io
import uuid
from datetime import timedelta

import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.validators import RegexValidator
from django.db import transaction
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from wangge.accounts.actions import resident_user
from wangge.accounts.models import Role, User
from wangge.cases.actions import add_attachment, rate_case
from wangge.cases.models import (
    Audience,
    Case,
    CaseState,
    Channel,
    EventKind,
    Outcome,
    Satisfaction,
)
from wangge.cases.queries import VISIT_KEY_PREFIX, get_case_by_tracking_code, public_cases
from wangge.dashboards.metrics import metrics_of
from wangge.dispatch.actions import intake_case
from wangge.grids.models import GridCell, GridLevel
from wangge.lib.errors import Conflict, DomainError, NotFound
from wangge.lib.throttle import throttled, too_many_text

MAX_PHOTOS = 3
# Days of history behind the public grid page's figures.
METRICS_DAYS = 90
RECENT_CASES = 20
# segno options for every QR code: medium error correction survives a scuffed poster.
QR_MAKE = {"error": "m", "micro": False}
QR_SAVE = {"svg": {"scale": 8, "border": 4}, "png": {"scale": 10, "border": 4}}
QR_TYPES = {"svg": "image/svg+xml", "png": "image/png"}
# Forms one client (address) may send per hour, against floods; a household or an office
# behind one router still has room.
REPORT_LIMIT = 10
RATE_LIMIT = 20
HOUR = 3600


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


# --- 上报: the report form -------------------------------------------------------------------


class PhotoInput(forms.FileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Up to MAX_PHOTOS photos from one file input; size and type are add_attachment's to judge."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", PhotoInput(attrs={"accept": "image/*"}))
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        return [super(PhotosField, self).clean(f, initial) for f in files if f]


class ReportForm(forms.Form):
    """The resident's report. Validates input only; `intake_case` decides what is stored."""

    title = forms.CharField(
        label=_("What is the problem?"),
        max_length=200,
        help_text=_("A few words, for example “Street light out at the north gate”."),
        error_messages={"required": _("Please say in a few words what the problem is.")},
    )
    description = forms.CharField(
        label=_("Details (optional)"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    lon = forms.FloatField(required=False, min_value=-180, max_value=180, widget=forms.HiddenInput)
    lat = forms.FloatField(required=False, min_value=-90, max_value=90, widget=forms.HiddenInput)
    address = forms.CharField(
        label=_("Address or landmark"),
        required=False,
        max_length=300,
        help_text=_(
            "Needed when no place is marked on the map. For example a building, a shop or a "
            "crossing nearby."
        ),
    )
    photos = PhotosField(
        label=_("Photos (optional, at most 3)"),
        required=False,
        help_text=_("JPEG, PNG or WebP. Photos may be shown to the staff handling the case."),
    )
    anonymous = forms.BooleanField(
        label=_("Report anonymously: keep neither my name nor my phone number"), required=False
    )
    name = forms.CharField(label=_("Your name (optional)"), required=False, max_length=50)
    phone = forms.CharField(
        label=_("Your phone number (optional)"),
        required=False,
        max_length=20,
        help_text=_("Only staff handling the case can see it, and only if they need to call you."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    # Made when the form is shown: a second submit of the same form finds the first case.
    key = forms.CharField(
        widget=forms.HiddenInput,
        validators=[RegexValidator(r"^[A-Za-z0-9-]{8,64}$")],
        error_messages={
            "required": _("The form has expired; please send it again."),
            "invalid": _("The form has expired; please send it again."),
        },
    )

    def __init__(self, *args, need_place: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.need_place = need_place

    def clean_photos(self):
        photos = self.cleaned_data.get("photos") or []
        if len(photos) > MAX_PHOTOS:
            raise forms.ValidationError(
                _("Attach at most %(count)s photos."), params={"count": MAX_PHOTOS}
            )
        for photo in photos:
            if not (getattr(photo, "content_type", "") or "").startswith("image/"):
                raise forms.ValidationError(
                    _("“%(name)s” is not a photo. Attach JPEG, PNG or WebP images."),
                    params={"name": photo.name},
                )
        return photos

    def clean(self):
        data = super().clean()
        if (data.get("lon") is None) != (data.get("lat") is None):
            self.add_error("lon", _("The place on the map is incomplete; mark it again."))
        elif self.need_place and data.get("lon") is None and not data.get("address"):
            self.add_error("address", _("Mark the place on the map or describe where it is."))
        if data.get("anonymous"):
            data["name"] = data["phone"] = ""
        return data


# Where an action's field errors show on the form.
ACTION_FIELDS = {
    "title": "title",
    "description": "description",
    "reporter_phone": "phone",
    "lon": "lon",
    "lat": "lon",
    "file": "photos",
}


def _show_error(form: forms.Form, exc: DomainError, *, photo_name: str = "") -> None:
    if not exc.fields:
        text = exc.text()
        form.add_error("photos" if photo_name else None, _photo_error(photo_name, text))
    for field, text in exc.fields.items():
        target = ACTION_FIELDS.get(field)
        form.add_error(target, _photo_error(photo_name, str(text)) if photo_name else str(text))


def _photo_error(name: str, text: str) -> str:
    if not name:
        return text
    return gettext("“%(name)s”: %(error)s") % {"name": name, "error": text}


def _public_cell(code: str) -> GridCell:
    cell = GridCell.objects.filter(code=code).first()
    if cell is None:
        raise Http404(gettext("No grid has this code."))
    return cell


def _bounds(cell: GridCell) -> list[list[float]] | None:
    """[[south, west], [north, east]] of the cell's polygon, or around its point."""
    geometry = cell.geometry or {}
    rings = []
    if geometry.get("type") == "Polygon":
        rings = geometry["coordinates"]
    elif geometry.get("type") == "MultiPolygon":
        rings = [ring for polygon in geometry["coordinates"] for ring in polygon]
    points = [p for ring in rings for p in ring]
    if points:
        lons, lats = [p[0] for p in points], [p[1] for p in points]
        return [[min(lats), min(lons)], [max(lats), max(lons)]]
    if cell.centroid_lon is not None and cell.centroid_lat is not None:
        d = 0.001  # about a hundred metres around a building's door
        lat, lon = cell.centroid_lat, cell.centroid_lon
        return [[lat - d, lon - d], [lat + d, lon + d]]
    return _bounds(cell.parent) if cell.parent_id else None


def _county() -> GridCell | None:
    return GridCell.objects.filter(level=GridLevel.COUNTY).order_by("path").first()


def _map_config(cell: GridCell | None, form: forms.Form) -> dict:
    focus = cell or _county()
    pin = None
    lon, lat = form["lon"].value(), form["lat"].value()
    try:
        if lon not in (None, "") and lat not in (None, ""):
            pin = [float(lat), float(lon)]
    except (TypeError, ValueError):
        pin = None
    return {
        "gridsUrl": reverse("portal_grids"),
        "grid": cell.code if cell else "",
        "bounds": _bounds(focus) if focus else None,
        "pin": pin,
        "tileUrl": settings.WANGGE_TILE_URL,
        "tileAttribution": settings.WANGGE_TILE_ATTRIBUTION,
        "text": {
            "marked": gettext("Place marked on the map."),
            "none": gettext("No place marked yet."),
            "locating": gettext("Finding your location…"),
            "noLocation": gettext("Your location could not be found; tap the map instead."),
        },
    }


def _take_in(request, data: dict, *, channel: str, cell: GridCell | None) -> Case:
    """Case and photos commit together or not at all: a rejected photo leaves nothing behind,
    not even the files already written."""
    anonymous = data["anonymous"]
    user = request.user if request.user.is_authenticated and not anonymous else None
    saved = []
    try:
        with transaction.atomic():
            case, created = intake_case(
                channel=channel,
                idempotency_key=f"portal-{data['key']}",
                title=data["title"],
                description=data["description"],
                lon=data["lon"],
                lat=data["lat"],
                address=data["address"],
                cell=cell,
                reporter_name="" if anonymous else data["name"],
                reporter_phone="" if anonymous else data["phone"],
                anonymous=anonymous,
                reporter_user=user,
                actor=user,
            )
            # A repeat of a form already taken in brings back its case, photos and all.
            for number, photo in enumerate(data["photos"] if created else [], start=1):
                try:
                    attachment, _new = add_attachment(
                        case,
                        upload=photo,
                        actor=user,
                        public=True,
                        idempotency_key=f"portal-{data['key']}-{number}",
                    )
                except DomainError as exc:
                    exc.photo_name = photo.name
                    raise
                saved.append(attachment)
    except DomainError:
        for attachment in saved:
            attachment.file.delete(save=False)
        raise
    return case


def report(request, code: str = ""):
    """上报 from the web (/report/, optionally ?grid=CODE) or from a grid's QR code (/r/CODE/,
    channel qr, the case placed in that grid)."""
    grid = code or request.POST.get("grid") or request.GET.get("grid", "")
    cell = _public_cell(grid) if grid else None
    channel = Channel.QR if code else Channel.WEB
    status = 200
    if request.method == "POST":
        form = ReportForm(request.POST, request.FILES, need_place=cell is None)
        status = 400
        if form.is_valid() and throttled(request, "report", limit=REPORT_LIMIT, per=HOUR):
            form.add_error(None, too_many_text(HOUR))
            status = 429
        elif form.is_valid():
            try:
                case = _take_in(request, form.cleaned_data, channel=channel, cell=cell)
            except DomainError as exc:
                _show_error(form, exc, photo_name=getattr(exc, "photo_name", ""))
            else:
                return redirect("portal_report_done", code=case.tracking_code)
        if form.has_error("key"):
            form.data = form.data.copy()
            form.data["key"] = uuid.uuid4().hex
    else:
        form = ReportForm(initial={"key": uuid.uuid4().hex}, need_place=cell is None)
    context = {
        "form": form,
        "cell": cell,
        "grid_code": grid if (cell and not code) else "",
        "map_config": _map_config(cell, form),
        "action": request.path,
    }
    return render(request, "cases/portal/report.html", context, status=status)


def report_done(request, code: str):
    try:
        case = get_case_by_tracking_code(code)
    except NotFound as exc:
        raise Http404 from exc
    return render(request, "cases/portal/report_done.html", {"case": case})


@require_GET
def grids_geojson(request):
    """The grid polygons the report map draws (grid level: the cells residents know)."""
    cells = GridCell.objects.filter(level=GridLevel.GRID, geometry__isnull=False).only(
        "code", "name", "geometry"
    )
    features = [
        {
            "type": "Feature",
            "geometry": c.geometry,
            "properties": {"code": c.code, "name": c.name},
        }
        for c in cells
    ]
    response = JsonResponse({"type": "FeatureCollection", "features": features})
    patch_cache_control(response, public=True, max_age=300)
    return response


# --- QR codes and the poster -----------------------------------------------------------------


def report_url(request, cell: GridCell) -> str:
    """What a grid's QR code says: the absolute address of the report form for that grid."""
    return request.build_absolute_uri(reverse("portal_report_grid", args=[cell.code]))


def qr_image(url: str, kind: str) -> bytes:
    out = io.BytesIO()
    segno.make(url, **QR_MAKE).save(out, kind=kind, **QR_SAVE[kind])
    return out.getvalue()


@require_GET
def qr(request, code: str, kind: str):
    cell = _public_cell(code)
    response = HttpResponse(qr_image(report_url(request, cell), kind), content_type=QR_TYPES[kind])
    response["Content-Disposition"] = f'inline; filename="wangge-{cell.code}.{kind}"'
    patch_cache_control(response, public=True, max_age=3600)
    return response


def _hierarchy(cell: GridCell) -> list[GridCell]:
    return [*cell.ancestors(), cell]


@require_GET
def poster(request, code: str):
    """A printable A4 poster: grid name, QR code, how to report. No personal data: the grid
    worker is named by role only."""
    cell = _public_cell(code)
    context = {
        "cell": cell,
        "hierarchy": _hierarchy(cell),
        "url": report_url(request, cell),
        "worker_role": Role.GRID_WORKER.label,
    }
    return render(request, "cases/portal/poster.html", context)


# --- 查询 and 评价: tracking by code --------------------------------------------------------


class RateForm(forms.Form):
    satisfaction = forms.ChoiceField(
        label=_("How satisfied are you with the handling?"),
        choices=Satisfaction.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a rating.")},
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def _track_page(request, case: Case, *, rate_form=None, status=200):
    events = case.events.filter(audience=Audience.PUBLIC)
    timeline = [{"at": e.occurred_at, "text": public_wording(e)} for e in events]
    context = {
        "form": TrackForm(initial={"code": case.tracking_code}),
        "case": case,
        "title": _track_title(case),
        "timeline": timeline,
        "photos": case.attachments.filter(is_public=True).count(),
        "can_rate": case.state == CaseState.RESOLVED,
        "rate_form": rate_form or RateForm(),
    }
    return render(request, "cases/portal/track.html", context, status=status)


def _track_title(case: Case) -> str:
    """The title the tracking page shows. A resident's own report shows their own words; a case
    about someone else's care (a device alarm, a missed check-in, a household visit, or any case
    of a category not marked public) shows only its category: its tracking code is sent to
    carers and may be passed on, and must not say whom it is about."""
    from_visit = case.channel == Channel.PATROL and (case.idempotency_key or "").startswith(
        VISIT_KEY_PREFIX
    )
    private = case.category_id is not None and not case.category.is_public
    if case.channel == Channel.SENSOR or from_visit or private:
        return case.category.name if case.category_id else gettext("Request")
    return case.title


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
    return _track_page(request, case)


def _resident_actor(request, case: Case) -> User:
    """Who a rating is recorded under: the reporter's own account when they are logged in,
    otherwise the named account of residents holding a tracking code, so the timeline says a
    resident rated (not "system") and no one's identity is guessed."""
    if request.user.is_authenticated and request.user.pk == case.reporter_user_id:
        return request.user
    return resident_user()


@require_POST
def rate(request, code: str):
    """评价 by the resident holding the tracking code, once per resolution; 不满意 reopens the
    case as `rate_case` decides."""
    try:
        case = get_case_by_tracking_code(code)
    except NotFound as exc:
        raise Http404 from exc
    form = RateForm(request.POST)
    if not form.is_valid():
        return _track_page(request, case, rate_form=form, status=400)
    if throttled(request, "rate", limit=RATE_LIMIT, per=HOUR):
        form.add_error(None, too_many_text(HOUR))
        return _track_page(request, case, rate_form=form, status=429)
    try:
        rate_case(
            case,
            satisfaction=form.cleaned_data["satisfaction"],
            comment=form.cleaned_data["comment"],
            actor=_resident_actor(request, case),
        )
    except Conflict:
        # Someone (or a second click) rated first, or the case moved on: show what is there.
        case.refresh_from_db()
        if case.satisfaction:
            form.add_error(None, _("This case has already been rated. Thank you."))
        else:
            form.add_error(None, _("This case cannot be rated now."))
        return _track_page(request, case, rate_form=form, status=409)
    except DomainError as exc:
        form.add_error(None, exc.text())
        return _track_page(request, case, rate_form=form, status=400)
    messages.success(request, _("Thank you for your rating."))
    return redirect("track_case", code=case.tracking_code)


# --- the public grid page --------------------------------------------------------------------


def _percent(share: float | None) -> int | None:
    return None if share is None else round(share * 100)


@require_GET
def grid_page(request, code: str):
    """A grid's public page: where it sits, what was recently resolved there and how well
    (on time, satisfaction) over the last 90 days. Cases show title, category, dates and the
    outcome only: no names, no phone numbers, no staff; and only public cases are listed or
    counted (`public_cases`: care and device cases never)."""
    cell = _public_cell(code)
    now = timezone.now()
    here = public_cases().filter(cell__path__startswith=cell.path)
    metrics = metrics_of(
        here.filter(reported_at__gte=now - timedelta(days=METRICS_DAYS), reported_at__lt=now),
        now=now,
    )
    recent = (
        here.filter(resolved_at__isnull=False)
        .select_related("category")
        .only("title", "category__name", "reported_at", "resolved_at", "outcome")
        .order_by("-resolved_at", "-id")[:RECENT_CASES]
    )
    context = {
        "cell": cell,
        "hierarchy": _hierarchy(cell),
        "children": cell.children.order_by("code").only("code", "name", "level"),
        "recent": recent,
        "metrics": metrics,
        "days": METRICS_DAYS,
        "on_time": _percent(metrics.resolve_on_time_rate),
        "satisfaction": _percent(metrics.satisfaction_rate),
    }
    return render(request, "cases/portal/grid.html", context)
