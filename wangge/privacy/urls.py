from django.urls import path

from wangge.privacy import views

urlpatterns = [
    path("my-data/", views.my_data, name="my_data"),
    path("my-data/leave/", views.forget, name="my_data_leave"),
]
