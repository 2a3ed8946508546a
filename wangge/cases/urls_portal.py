"""Residents' pages: tracking, report, QR codes, rating, public grid pages (views/portal.py)."""

from django.urls import path, re_path

from wangge.cases.views import portal

urlpatterns = [
    path("report/", portal.report, name="portal_report"),
    path("report/grids.json", portal.grids_geojson, name="portal_grids"),
    path("report/done/<str:code>/", portal.report_done, name="portal_report_done"),
    path("r/<str:code>/", portal.report, name="portal_report_grid"),
    re_path(r"^qr/(?P<code>[\w-]+)\.(?P<kind>svg|png)$", portal.qr, name="portal_qr"),
    path("qr/<str:code>/poster/", portal.poster, name="portal_poster"),
    path("grids/<str:code>/", portal.grid_page, name="portal_grid"),
    path("track/", portal.track, name="track"),
    path("track/<str:code>/", portal.track, name="track_case"),
    path("track/<str:code>/rate/", portal.rate, name="portal_rate"),
]
