"""The meeting rules (quorum and pass thresholds) are policy, edited here; the records of
matters, meetings and disclosure are changed only through actions."""

from django.contrib import admin

from wangge.deliberation.models import MeetingRule


@admin.register(MeetingRule)
class MeetingRuleAdmin(admin.ModelAdmin):
    list_display = (
        "body",
        "quorum_numerator",
        "quorum_denominator",
        "quorum_strict",
        "pass_numerator",
        "pass_denominator",
        "pass_strict",
    )

    def has_delete_permission(self, request, obj=None):
        return False
