from django.urls import path

from wangge.cases import views

urlpatterns = [
    path("", views.home, name="home"),
]
