"""The people whose data we hold may see who read it (PIPL's right to know): they prove the phone
number is theirs with a one-time code, then see every logged read of their records."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from wangge.lib.crypto import EncryptedTextField


class PhoneCheck(models.Model):
    """A one-time code sent to a phone. The code is kept only as a keyed hash, the phone
    encrypted (with a keyed hash to count requests per number)."""

    phone = EncryptedTextField()
    phone_index = models.CharField(max_length=32, db_index=True)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("phone check")
        verbose_name_plural = _("phone checks")
