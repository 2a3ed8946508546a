"""Residents' pages: tracking, report, QR codes, rating, public grid pages (views/portal.py)."""

from django.urls import path

from wangge.cases.views import portal

urlpatterns = [
    path("track/", portal.track, name="track"),
    path("track/<str:code>/", portal.track, name="track_case"),
]
