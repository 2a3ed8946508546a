"""Open311 GeoReport v2: the questions a category asks (service definitions), the API keys of
partner systems, and what each Open311 submission brought beside the case itself.

A request received through Open311 is an ordinary `Case`; `Open311Submission` only keeps the
fields GeoReport has and a case does not (token, e-mail, device, answers to the questions).
"""

import hashlib
import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _

from wangge.lib.crypto import EncryptedTextField


class Datatype(models.TextChoices):
    STRING = "string", _("Short text")
    NUMBER = "number", _("Number")
    DATETIME = "datetime", _("Date and time")
    TEXT = "text", _("Long text")
    SINGLEVALUELIST = "singlevaluelist", _("One choice")
    MULTIVALUELIST = "multivaluelist", _("Several choices")


LIST_TYPES = (Datatype.SINGLEVALUELIST, Datatype.MULTIVALUELIST)


class ServiceAttribute(models.Model):
    """One question a category asks of an Open311 reporter (a GeoReport service attribute)."""

    category = models.ForeignKey(
        "cases.Category", on_delete=models.CASCADE, related_name="open311_attributes"
    )
    code = models.CharField(_("code"), max_length=40)
    datatype = models.CharField(_("data type"), max_length=20, choices=Datatype.choices)
    required = models.BooleanField(_("required"), default=False)
    # False: informational text shown to the reporter, no answer expected.
    variable = models.BooleanField(_("asks for an answer"), default=True)
    description = models.CharField(_("question"), max_length=300)
    datatype_description = models.CharField(_("answer hint"), max_length=300, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=1)
    # For the list types: [{"key": "...", "name": "..."}, ...].
    values = models.JSONField(_("choices"), default=list, blank=True)

    class Meta:
        verbose_name = _("Open311 question")
        verbose_name_plural = _("Open311 questions")
        ordering = ["category", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["category", "code"], name="open311_attr_unique_code"),
        ]

    def __str__(self):
        return f"{self.category.code}/{self.code}"

    def choice_keys(self) -> list[str]:
        return [str(v.get("key", "")) for v in self.values or []]


def hash_key(raw: str) -> str:
    # Keys are long random strings, so a plain SHA-256 is enough; only the hash is stored.
    return hashlib.sha256(raw.encode()).hexdigest()


def new_raw_key() -> str:
    return secrets.token_urlsafe(32)


class Open311Key(models.Model):
    """An API key of a partner system (FixMyStreet, an app); only its hash is stored."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    # Written onto each case as its external reference: where the case came from.
    channel = models.CharField(_("channel label"), max_length=60)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("key begins with"), max_length=8, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("Open311 API key")
        verbose_name_plural = _("Open311 API keys")
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class Open311Submission(models.Model):
    """What an Open311 POST brought beside the case: token, contact, answers. Never shown by
    GET: e-mail is encrypted like the phone on the case."""

    case = models.OneToOneField("cases.Case", on_delete=models.PROTECT, related_name="open311")
    key = models.ForeignKey(Open311Key, on_delete=models.PROTECT, related_name="submissions")
    token = models.CharField(max_length=40, unique=True)
    email = EncryptedTextField(blank=True)
    device_id = models.CharField(max_length=100, blank=True)
    account_id = models.CharField(max_length=100, blank=True)
    address_id = models.CharField(max_length=100, blank=True)
    media_url = models.URLField(max_length=1000, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Open311 submission")
        verbose_name_plural = _("Open311 submissions")


class Open311Update(models.Model):
    """An update a partner posted (mySociety servicerequestupdates), once per its update id."""

    key = models.ForeignKey(Open311Key, on_delete=models.PROTECT, related_name="updates")
    remote_id = models.CharField(max_length=100)
    event = models.OneToOneField(
        "cases.CaseEvent", on_delete=models.PROTECT, related_name="open311_update"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "remote_id"], name="open311_update_unique"),
        ]
