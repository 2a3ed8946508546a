from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wangge.open311 import actions
from wangge.open311.models import Open311Key, Open311Submission, ServiceAttribute


@admin.register(ServiceAttribute)
class ServiceAttributeAdmin(admin.ModelAdmin):
    list_display = ["category", "order", "code", "datatype", "required", "description"]
    list_filter = ["datatype", "required"]
    search_fields = ["code", "description", "category__name", "category__code"]


@admin.register(Open311Key)
class Open311KeyAdmin(admin.ModelAdmin):
    """Keys are created here or by `wangge open311-key create`; the clear key is shown once."""

    list_display = ["name", "channel", "prefix", "created_at", "revoked_at"]
    fields = ["name", "channel", "prefix", "created_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "revoked_at"]
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["channel"])
            return
        key, raw = actions.create_key(name=obj.name, channel=obj.channel)
        obj.pk, obj.key_hash, obj.prefix, obj.created_at = (
            key.pk,
            key.key_hash,
            key.prefix,
            key.created_at,
        )
        obj._state.adding = False
        self.message_user(
            request,
            _("The new key is %(key)s. Copy it now: it is not shown again.") % {"key": raw},
            messages.WARNING,
        )

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request, queryset):
        queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


@admin.register(Open311Submission)
class Open311SubmissionAdmin(admin.ModelAdmin):
    list_display = ["case", "key", "received_at"]
    fields = ["case", "key", "device_id", "account_id", "address_id", "media_url", "attributes"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
