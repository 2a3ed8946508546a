from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from wangge.accounts.models import ApiToken, Assignment, Unit, User


class AssignmentInline(admin.TabularInline):
    model = Assignment
    extra = 0
    autocomplete_fields = ["cell", "unit"]


@admin.register(User)
class WanggeUserAdmin(UserAdmin):
    list_display = ["username", "display_name", "is_active", "is_system"]
    fieldsets = [*UserAdmin.fieldsets, ("wangge", {"fields": ["display_name", "is_system"]})]
    inlines = [AssignmentInline]


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "cell", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "code"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "name", "prefix", "created_at", "revoked_at"]
    readonly_fields = ["user", "prefix", "token_hash", "created_at"]
