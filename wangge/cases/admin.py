from django.contrib import admin

from wangge.audit.admin import ReadOnlyAdmin
from wangge.cases.models import (
    Case,
    CaseEvent,
    Category,
    DeadlinePolicy,
    Notification,
    SupervisionOrder,
)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "parent", "owner", "grid_level", "is_public", "is_active"]
    list_filter = ["is_public", "raised_by_system", "is_active"]
    search_fields = ["name", "code"]


@admin.register(DeadlinePolicy)
class DeadlinePolicyAdmin(admin.ModelAdmin):
    list_display = [
        "category",
        "priority",
        "accept_limit",
        "accept_unit",
        "resolve_limit",
        "resolve_unit",
    ]


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    extra = 0
    can_delete = False
    fields = ["occurred_at", "kind", "audience", "actor_name", "from_state", "to_state", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    """Cases change only through actions (the workflow pages and API); the admin reads."""

    list_display = ["tracking_code", "title", "state", "channel", "unit", "reported_at", "due_at"]
    list_filter = ["state", "channel", "priority"]
    search_fields = ["tracking_code", "title"]
    exclude = ["reporter_phone"]
    inlines = [CaseEventInline]


@admin.register(SupervisionOrder)
class SupervisionOrderAdmin(ReadOnlyAdmin):
    list_display = ["id", "case", "unit", "level", "state", "due_at"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """The outbox: failed deliveries stay visible here."""

    list_display = ["id", "kind", "state", "attempts", "next_attempt_at", "last_error"]
    list_filter = ["state", "kind"]
