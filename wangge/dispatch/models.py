"""Routing records: every 智能分派 suggestion is kept so it can be explained later."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DispatchRecommendation(models.Model):
    """The candidates a router proposed for a case, and what the dispatcher finally chose."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="recommendations")
    router = models.CharField(_("router"), max_length=40)  # "rules-v0", later a model version
    candidates = models.JSONField(default=list)  # [{"unit": id, "assignee": id, "score", "why"}]
    chosen_unit = models.ForeignKey(
        "accounts.Unit", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    chosen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
