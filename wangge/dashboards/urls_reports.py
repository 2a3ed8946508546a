"""Weekly and monthly reports and the misroute page under /reports/ (views/reports.py,
views/misroutes.py)."""

from django.urls import path

from wangge.dashboards.views import misroutes, reports

urlpatterns = [
    path("reports/", reports.reports, name="reports"),
    path("reports/weekly/", reports.weekly, name="report_weekly"),
    path("reports/monthly/", reports.monthly, name="report_monthly"),
    path("reports/misroutes/", misroutes.misroutes, name="misroutes"),
]
