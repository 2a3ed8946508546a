"""Generated reports (周调度, 月评估) under /reports/: a page to choose the grid, unit and period,
and the report itself as printable HTML (the PDF route is the browser's print) or, with
`format=xlsx`, as an Excel workbook with the same numbers. Handlers are thin: scope, parse,
`dashboards.reports.build_report`, render."""

from datetime import timedelta
from io import BytesIO

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from wangge.accounts.permissions import Perm
from wangge.accounts.queries import grid_in_scope
from wangge.dashboards import reports as r
from wangge.grids.models import GridLevel
from wangge.lib.errors import InvalidInput, NotFound, PermissionDenied

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NUMBER_FORMATS = {r.RATE: "0.0%", r.HOURS: "0.0", r.COUNT: "0"}


def metrics_cell(user, ref: str | None):
    """The grid asked for, if in the user's metric scope: 404 outside it, 403 without the role."""
    try:
        return grid_in_scope(user, Perm.VIEW_METRICS, ref or None)
    except NotFound as exc:
        raise Http404(exc.text()) from exc
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.text()) from exc


def _choices(request, cell, *, unit=None, week=None, month=None) -> dict:
    today = timezone.localdate()
    cells = r.cells_to_choose(request.user)
    top = min((c.level for c in cells), default=0)
    return {
        # Indented by depth with ideographic spaces, which every font shows.
        "cells": [(c, "\u3000" * (c.level - top)) for c in cells],
        "county_wide": top == GridLevel.COUNTY,
        "units": r.units_to_choose(),
        "chosen_cell": cell,
        "chosen_unit": unit,
        "week": week or r.week_of(today).value,
        "month": month or r.month_of(today).value,
    }


@login_required
def reports(request):
    """The page to choose a report: grid subtree, unit, and a week or a month."""
    cell = metrics_cell(request.user, request.GET.get("cell"))
    return render(request, "dashboards/reports/index.html", _choices(request, cell))


@login_required
def weekly(request):
    return _report(request, r.WEEKLY)


@login_required
def monthly(request):
    return _report(request, r.MONTHLY)


def _report(request, kind: str):
    cell = metrics_cell(request.user, request.GET.get("cell"))
    today = timezone.localdate()
    week, month = request.GET.get("week"), request.GET.get("month")
    try:
        unit = r.unit_for_report(request.GET.get("unit"))
        period = (
            r.parse_week(week, today=today)
            if kind == r.WEEKLY
            else r.parse_month(month, today=today)
        )
    except InvalidInput as exc:
        context = _choices(request, cell, week=week, month=month)
        context["errors"] = {k: str(v) for k, v in exc.fields.items()}
        return render(request, "dashboards/reports/index.html", context, status=400)
    report = r.build_report(cell=cell, period=period, unit=unit, now=timezone.now())
    if request.GET.get("format") == "xlsx":
        return _xlsx(report)
    params = {"cell": cell.code, "unit": unit.pk if unit else ""}
    return render(
        request,
        "dashboards/reports/report.html",
        {
            "report": report,
            "heading": _heading(report),
            "figures": r.figures(report),
            "states": r.states(report),
            "colours": r.colours(report),
            "columns": [str(label) for _key, label, _kind in r.COLUMNS],
            "by_cell": [(line, r.row_values(line)) for line in report.by_cell],
            "by_unit": [(line, r.row_values(line)) for line in report.by_unit],
            "generated_at": timezone.localtime(report.now),
            "params": params,
            "period_param": "week" if kind == r.WEEKLY else "month",
            "next_period": _following(report.period),
            **_choices(
                request,
                cell,
                unit=unit,
                week=period.value if kind == r.WEEKLY else None,
                month=period.value if kind == r.MONTHLY else None,
            ),
        },
    )


def _following(period: r.Period) -> r.Period | None:
    """The period after this one, unless it has not begun."""
    after = period.last + timedelta(days=1)
    if after > timezone.localdate():
        return None
    return r.week_of(after) if period.kind == r.WEEKLY else r.month_of(after)


def _heading(report: r.Report) -> str:
    parts = [report.period.title, report.cell.name]
    if report.unit is not None:
        parts.append(report.unit.name)
    parts.append(report.period.value)
    return " · ".join(parts)


def _span(period: r.Period) -> str:
    return f"{period.first:%Y-%m-%d} – {period.last:%Y-%m-%d} ({period.value})"


# --- the workbook -------------------------------------------------------------------------------


def _header(ws, labels) -> None:
    ws.append([str(label) for label in labels])
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)


def _numbers(ws, values_and_kinds) -> None:
    """Append a row; numbers keep their value and get the format of their kind."""
    ws.append([value for value, _kind in values_and_kinds])
    for cell, (_value, kind) in zip(ws[ws.max_row], values_and_kinds, strict=True):
        if kind in NUMBER_FORMATS:
            cell.number_format = NUMBER_FORMATS[kind]


def _widths(ws, first: int, others: int = 14) -> None:
    for i, column in enumerate(ws.iter_cols(min_row=1, max_row=1)):
        ws.column_dimensions[column[0].column_letter].width = first if i == 0 else others


def _change(value, previous):
    return None if value is None or previous is None else round(value - previous, 4)


def _xlsx(report: r.Report) -> HttpResponse:
    """One sheet for the summary, one per breakdown; headers in the user's language."""
    wb = Workbook()
    ws = wb.active
    ws.title = _("Summary")
    ws.append([_heading(report)])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([_("Grid"), report.cell.name])
    ws.append([_("Unit"), report.unit.name if report.unit else _("All units")])
    ws.append([_("Period"), _span(report.period)])
    ws.append([_("Previous period"), _span(report.previous)])
    ws.append([_("Generated at"), f"{timezone.localtime(report.now):%Y-%m-%d %H:%M}"])
    ws.append([])
    _header(ws, [_("Figure"), _("This period"), _("Previous period"), _("Change")])
    for f in r.figures(report):
        row = [(f.label, None), (f.value, f.kind), (f.previous, f.kind)]
        _numbers(ws, [*row, (_change(f.value, f.previous), f.kind)])
    ws.append([])
    _header(ws, [_("State"), _("Cases")])
    for label, n in r.states(report):
        ws.append([label, n])
    ws.append([])
    _header(ws, [_("Deadline"), _("Cases")])
    for _key, label, n in r.colours(report):
        ws.append([label, n])
    _widths(ws, 40, 18)

    for title, first, lines in (
        (_("By grid"), _("Grid"), report.by_cell),
        (_("By unit"), _("Unit"), report.by_unit),
    ):
        sheet = wb.create_sheet(title)
        _header(sheet, [first, *(label for _key, label, _kind in r.COLUMNS)])
        for line in lines:
            values = [r.cell_value(line, key) for key, _label, _kind in r.COLUMNS]
            kinds = [kind for _key, _label, kind in r.COLUMNS]
            _numbers(sheet, [(line.name, None), *zip(values, kinds, strict=True)])
        _widths(sheet, 36)

    sheet = wb.create_sheet(_("Top categories"))
    _header(sheet, [_("Code"), _("Category"), _("Cases")])
    for c in report.top_categories:
        sheet.append([c.code, c.name, c.cases])
    _widths(sheet, 10, 24)

    sheet = wb.create_sheet(_("Overdue cases"))
    _header(sheet, [_("Title"), _("Unit"), _("Grid"), _("Days overdue")])
    for c in report.overdue:
        _numbers(sheet, [(c.title, None), (c.unit, None), (c.grid, None), (c.days_overdue, None)])
    _widths(sheet, 40, 24)

    out = BytesIO()
    wb.save(out)
    name = f"wangge-{report.period.kind}-{report.cell.code}-{report.period.value}.xlsx"
    response = HttpResponse(out.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
