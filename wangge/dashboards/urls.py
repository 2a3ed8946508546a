"""Dashboards: the big screen (一屏观全域) and generated reports."""

from django.urls import include, path

urlpatterns = [
    path("", include("wangge.dashboards.urls_screen")),
    path("", include("wangge.dashboards.urls_reports")),
]
