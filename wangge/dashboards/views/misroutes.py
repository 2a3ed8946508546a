"""分派纠错率 under /reports/misroutes/: how often 智能分派's lone dispatches came back, per
category and per unit, worst first (the numbers of GET /api/v1/metrics/misroutes)."""

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.dashboards import reports as r
from wangge.dashboards.views.reports import metrics_cell
from wangge.dispatch.queries import misroute_rates
from wangge.grids.models import GridLevel
from wangge.lib.errors import InvalidInput


@login_required
def misroutes(request):
    # The classifier routes for the whole county, so its record needs a county-wide scope.
    if metrics_cell(request.user, None).level != GridLevel.COUNTY:
        raise Http404(_("No grid is within your scope."))
    start, end = request.GET.get("start"), request.GET.get("end")
    context = {"start": start or "", "end": end or ""}
    try:
        first, last = r.parse_window(start, end, today=timezone.localdate())
    except InvalidInput as exc:
        context["errors"] = {k: str(v) for k, v in exc.fields.items()}
        return render(request, "dashboards/reports/misroutes.html", context, status=400)
    rates = misroute_rates(r.local_midnight(first), r.local_midnight(last + timedelta(days=1)))
    for table in rates.values():
        for row in table:
            row["shown_rate"] = r.show(row["rate"], r.RATE)
    context.update(
        start=first.isoformat(),
        end=last.isoformat(),
        tables=[
            ("categories", _("By category"), _("Category the router chose"), rates["categories"]),
            ("units", _("By unit"), _("Unit it was sent to"), rates["units"]),
        ],
    )
    return render(request, "dashboards/reports/misroutes.html", context)
