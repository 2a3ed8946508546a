"""一屏观全域 under /screen/ (views/screen.py)."""

from django.urls import path

from wangge.dashboards.views import screen

urlpatterns = [
    path("screen/", screen.big_screen, name="big_screen"),
    path("screen/panels/", screen.big_screen_panels, name="big_screen_panels"),
]
