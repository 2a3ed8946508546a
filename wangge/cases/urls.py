from django.urls import path

from wangge.cases import views

urlpatterns = [
    path("", views.home, name="home"),
    path("queue/", views.queue, name="queue"),
    path("cases/<int:case_id>/", views.case_detail, name="case_detail"),
    path("cases/<int:case_id>/act/<slug:action>/", views.case_act, name="case_act"),
    path("track/", views.track, name="track"),
    path("track/<str:code>/", views.track, name="track_case"),
]
