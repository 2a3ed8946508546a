"""Read-mostly admin for 智能分派: models, labelled examples and routing records. A model is
trained with `wangge dispatch train`; here an older one can be made active again."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from wangge.dispatch.actions import activate_model
from wangge.dispatch.models import ClassifierModel, DispatchRecommendation, LabelledExample


@admin.register(ClassifierModel)
class ClassifierModelAdmin(admin.ModelAdmin):
    list_display = ["version", "created_at", "trained_by", "n_examples", "threshold", "is_active"]
    list_filter = ["is_active"]
    exclude = ["blob"]
    readonly_fields = [
        "version",
        "created_at",
        "trained_by",
        "n_examples",
        "metrics",
        "threshold",
        "target_precision",
        "is_active",
    ]
    actions = ["activate"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Use this model for dispatch"))
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Choose exactly one model."), level="error")
            return
        model = activate_model(queryset.get(), actor=request.user)
        self.message_user(
            request,
            _("%(version)s is now active.") % {"version": model.version},
        )


@admin.register(LabelledExample)
class LabelledExampleAdmin(admin.ModelAdmin):
    list_display = ["label", "source", "text", "case", "created_at", "created_by"]
    list_filter = ["source", "label"]
    search_fields = ["text", "label"]
    readonly_fields = ["case", "created_at", "created_by"]


@admin.register(DispatchRecommendation)
class DispatchRecommendationAdmin(admin.ModelAdmin):
    list_display = ["case", "router", "auto", "chosen_unit", "chosen_by", "created_at"]
    list_filter = ["router", "auto"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
