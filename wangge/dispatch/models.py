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
    # The classifier whose suggestion this is (None for the rules), and whether the case was
    # sent on it without a person: the misroute rate is counted on those.
    model = models.ForeignKey(
        "ClassifierModel", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    auto = models.BooleanField(_("dispatched automatically"), default=False)


class ClassifierModel(models.Model):
    """One trained 智能分派 classifier, versioned with its cross-validated metrics. Exactly one
    is active at a time; training a new one deactivates the old, which stays for comparison."""

    version = models.CharField(_("version"), max_length=40, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    trained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    n_examples = models.PositiveIntegerField(_("examples"))
    metrics = models.JSONField(_("metrics"), default=dict)
    # Confidence from which auto-dispatch reached `target_precision` in cross-validation.
    threshold = models.FloatField(_("threshold"))
    target_precision = models.FloatField(_("target precision"))
    blob = models.BinaryField()
    is_active = models.BooleanField(_("active"), default=False)

    class Meta:
        verbose_name = _("classifier model")
        verbose_name_plural = _("classifier models")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True),
                name="classifiermodel_one_active",
            ),
        ]

    def __str__(self):
        return self.version


class ExampleSource(models.TextChoices):
    CLOSED_CASE = "closed_case", _("Closed case")
    CORRECTION = "correction", _("Dispatcher's correction")
    RETURN = "return", _("Re-dispatch after a return")  # 退单
    CSV = "csv", _("CSV import")


class LabelledExample(models.Model):
    """A message with the category it should have had, kept for the next training run: every
    dispatcher correction and every re-dispatch after 退单 (with its reason) becomes one."""

    text = models.TextField(_("text"))
    label = models.CharField(_("category code"), max_length=40)
    source = models.CharField(_("source"), max_length=20, choices=ExampleSource.choices)
    case = models.ForeignKey(
        "cases.Case",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="labelled_examples",
    )
    reason = models.TextField(_("reason"), blank=True)  # the 退单 reason, for a return
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("labelled example")
        verbose_name_plural = _("labelled examples")
        ordering = ["id"]

    def __str__(self):
        return f"{self.label}: {self.text[:40]}"
