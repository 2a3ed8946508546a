"""12345 operator entry (views/operator.py)."""

from django.urls import path

from wangge.cases.views import operator

urlpatterns = [
    path("operator/", operator.entry, name="operator_entry"),
    path("operator/suggest/", operator.suggest, name="operator_suggest"),
]
