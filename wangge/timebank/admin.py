"""The time bank in the admin: read-only (ledgers are history; changes go through the actions,
and a mistake is put right by a correcting transfer)."""

from django.contrib import admin

from wangge.audit.admin import ReadOnlyAdmin
from wangge.timebank.models import (
    Account,
    CatalogueItem,
    Member,
    Movement,
    PointsClaim,
    PointsRule,
    Policy,
    Redemption,
    Transfer,
    VolunteerTask,
)


class MovementInline(admin.TabularInline):
    model = Movement
    fields = ["account", "amount"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "community", "ledger", "kind", "memo", "corrects"]
    list_filter = ["ledger", "kind"]
    inlines = [MovementInline]


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["id", "community", "ledger", "kind", "member", "balance", "flagged"]
    list_filter = ["ledger", "kind", "flagged"]


@admin.register(Member)
class MemberAdmin(ReadOnlyAdmin):
    list_display = ["name", "community", "joined_at"]
    exclude = ["phone"]  # personal data: never shown here


@admin.register(VolunteerTask)
class VolunteerTaskAdmin(ReadOnlyAdmin):
    list_display = ["title", "community", "hours", "organiser", "state", "case"]
    list_filter = ["state"]


@admin.register(PointsRule)
class PointsRuleAdmin(ReadOnlyAdmin):
    list_display = ["name", "community", "points", "cap", "period", "active"]


@admin.register(PointsClaim)
class PointsClaimAdmin(ReadOnlyAdmin):
    list_display = ["member", "rule", "done_on", "state", "points", "decided_by"]
    list_filter = ["state"]


@admin.register(CatalogueItem)
class CatalogueItemAdmin(ReadOnlyAdmin):
    list_display = ["name", "community", "points", "stock", "active"]


@admin.register(Redemption)
class RedemptionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "member", "item", "quantity", "points"]


@admin.register(Policy)
class PolicyAdmin(ReadOnlyAdmin):
    list_display = ["community", "max_debt_hours", "max_credit_hours", "points_per_hour"]
