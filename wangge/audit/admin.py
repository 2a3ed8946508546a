from django.contrib import admin

from wangge.audit.models import AuditEntry, PersonalDataAccess


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is never edited: corrections are new rows."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "actor_name", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "actor_name", "object_type", "object_id", "field", "purpose"]
