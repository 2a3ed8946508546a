"""Open311 GeoReport v2, mounted at /open311/v2/; every method answers in .xml and .json."""

from django.urls import re_path

from wangge.open311 import views

F = r"\.(?P<fmt>xml|json)$"

urlpatterns = [
    re_path(r"^discovery" + F, views.discovery, name="open311-discovery"),
    re_path(r"^services" + F, views.services, name="open311-services"),
    re_path(r"^services/(?P<service_code>[^/]+?)" + F, views.service_definition),
    re_path(r"^requests" + F, views.requests_, name="open311-requests"),
    re_path(r"^requests/(?P<service_request_id>[^/]+?)" + F, views.request_detail),
    re_path(r"^tokens/(?P<token>[^/]+?)" + F, views.token),
    re_path(r"^servicerequestupdates" + F, views.service_request_updates),
    re_path(r"^(?P<rest>.*?)" + F, views.not_found),
    re_path(r"^(?P<rest>.*)$", views.not_found),
]
