"""一屏观全域: the county leaders' dark big screen under /screen/.

The page draws the node's areas on a map and the panels; `/screen/panels/` renders the panels
again for htmx every 30 seconds (the map and the charts are kept and fed the new numbers).
Both are scoped like the metrics: a node outside the user's grid scope answers 404, a user
without VIEW_METRICS 403. The numbers come from `screen_data`; this module only formats them.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from wangge.accounts.permissions import Perm, active_assignments
from wangge.accounts.queries import grid_in_scope
from wangge.dashboards import screen_data
from wangge.dashboards.screen_data import DEFAULT_DAYS, PERIODS, Period
from wangge.grids.models import GridCell
from wangge.lib.errors import NotFound, PermissionDenied

REFRESH_SECONDS = 30


def _cell(request) -> GridCell:
    try:
        return grid_in_scope(request.user, Perm.VIEW_METRICS, request.GET.get("cell") or None)
    except NotFound as exc:
        raise Http404(exc.text()) from exc
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.text()) from exc


def _days(request) -> int:
    value = request.GET.get("days", "")
    return int(value) if value.isdigit() and int(value) in PERIODS else DEFAULT_DAYS


def _query(cell: GridCell, days: int) -> str:
    params = {"cell": cell.code}
    if days != DEFAULT_DAYS:
        params["days"] = days
    return "?" + urlencode(params)


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{formats.number_format(rate * 100, 1)}%"


def _kpis(data: screen_data.Screen) -> list[dict]:
    """The KPI cards: (key, label, value, detail, tone)."""
    m, b = data.metrics, data.backlog

    def of(part: int, whole: int) -> str:
        return _("%(part)s of %(whole)s") % {"part": part, "whole": whole}

    return [
        {"key": "open", "label": _("Open cases"), "value": b.open, "detail": _("now")},
        {"key": "red", "label": _("Overdue (red)"), "value": b.red, "tone": "red"},
        {"key": "yellow", "label": _("Due soon (yellow)"), "value": b.yellow, "tone": "yellow"},
        {"key": "reported", "label": _("New reports"), "value": m.total, "detail": _("in period")},
        {
            "key": "on_time",
            "label": _("Resolved on time"),
            "value": _percent(m.resolve_on_time_rate),
            "detail": of(m.resolved_on_time, m.resolved),
        },
        {
            "key": "satisfaction",
            "label": _("Satisfaction rate"),
            "value": _percent(m.satisfaction_rate),
            "detail": of(m.rated - m.by_satisfaction["unsatisfied"], m.rated),
        },
        {
            "key": "grid_closure",
            "label": _("Closed within the grid"),
            "value": _percent(m.grid_closure_rate),
            "detail": of(m.closed_at_grid, m.resolved),
        },
    ]


def _crumbs(user, cell: GridCell) -> list[GridCell]:
    """From the widest node the user may see down to this one (nothing above their scope)."""
    scopes = [a.cell for a in active_assignments(user, Perm.VIEW_METRICS) if a.cell]
    return [c for c in [*cell.ancestors(), cell] if any(c.is_within(s) for s in scopes)]


def _panels(request) -> dict:
    cell, days = _cell(request), _days(request)
    now = timezone.now()
    period = Period.ending(timezone.localdate(now), days)
    data = screen_data.screen(cell, period=period, now=now, uncategorised=_("Uncategorised"))
    return {
        "cell": cell,
        "days": days,
        "data": data,
        "kpis": _kpis(data),
        "areas": [
            {"area": a, "url": _query(a.cell, days) if a.drillable else ""} for a in data.areas
        ],
        "units": [
            {
                "unit": u,
                "on_time": _percent(u.on_time_rate),
                "satisfaction": _percent(u.satisfaction_rate),
            }
            for u in data.units
        ],
        "query": _query(cell, days),
        "refresh_seconds": REFRESH_SECONDS,
        "updated_at": timezone.localtime(now),
        "chart_data": {
            "areas": [screen_data.area_json(a) for a in data.areas],
            "series": {
                "dates": [d.isoformat() for d in data.series.dates],
                "reported": data.series.reported,
                "resolved": data.series.resolved,
            },
            "categories": {
                "names": [c.name for c in data.categories],
                "counts": [c.cases for c in data.categories],
            },
        },
    }


def _plotly_template() -> dict:
    """plotly's own dark template (its layout only), on a transparent background."""
    import plotly.io as pio

    layout = pio.templates["plotly_dark"].layout.to_plotly_json()
    layout.update(paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)")
    return {"layout": layout}


@login_required
def big_screen(request):
    context = _panels(request)
    cell, days = context["cell"], context["days"]
    context.update(
        crumbs=[{"cell": c, "url": _query(c, days)} for c in _crumbs(request.user, cell)],
        periods=[{"days": d, "url": _query(cell, d)} for d in PERIODS],
        map_config={
            "tileUrl": settings.WANGGE_TILE_URL,
            "tileAttribution": settings.WANGGE_TILE_ATTRIBUTION,
            "bounds": cell.geometry,
            "areas": [
                {
                    "code": row["area"].cell.code,
                    "name": row["area"].cell.name,
                    "geometry": row["area"].cell.geometry,
                    "url": row["url"],
                }
                for row in context["areas"]
                if row["area"].cell.geometry
            ],
            "plotlyTemplate": _plotly_template(),
            "labels": {
                "open": _("open"),
                "red": _("overdue"),
                "reported": _("Reported"),
                "resolved": _("Resolved"),
                "cases": _("Cases"),
                "failed": _("Update failed; retrying. Last good data: %(time)s"),
            },
        },
    )
    return render(request, "dashboards/screen/screen.html", context)


def big_screen_panels(request):
    """The panels alone, for the 30-second refresh. A session that has ended sends the whole
    page to the login (htmx would otherwise put the login form inside the screen)."""
    if not request.user.is_authenticated:
        screen = reverse("big_screen") + _query_string(request)
        if request.htmx:
            return HttpResponseClientRedirect(f"{reverse('login')}?{urlencode({'next': screen})}")
        return redirect_to_login(screen)
    return render(request, "dashboards/screen/_panels.html", _panels(request))


def _query_string(request) -> str:
    query = request.GET.urlencode()
    return f"?{query}" if query else ""
