"""The grid worker's H5 under /h5/ (views/mobile.py). The service worker is served here too, so
that its scope covers every H5 page."""

from django.urls import path

from wangge.cases.views import mobile

urlpatterns = [
    path("h5/", mobile.home, name="h5_home"),
    path("h5/cases/<int:case_id>/", mobile.case_page, name="h5_case"),
    path("h5/report/", mobile.report, name="h5_report"),
    path("h5/grid/", mobile.grid, name="h5_grid"),
    path("h5/offline/", mobile.offline, name="h5_offline"),
    path("h5/sw.js", mobile.service_worker, name="h5_sw"),
]
