"""Field encryption for personal data at rest (PIPL): phone and ID numbers are stored as Fernet
tokens, so a database dump alone reveals nothing. A keyed hash beside them allows exact lookups."""

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import models


@lru_cache(maxsize=4)
def _fernet(key: str) -> Fernet:
    raw = key.encode()
    try:
        return Fernet(raw)
    except ValueError:
        # Accept any passphrase: derive a proper 32-byte key from it.
        return Fernet(base64.urlsafe_b64encode(hashlib.sha256(raw).digest()))


def encrypt(value: str) -> str:
    return _fernet(settings.PII_KEY).encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(settings.PII_KEY).decrypt(token.encode()).decode()
    except InvalidToken:
        return ""


def blind_index(value: str) -> str:
    """A keyed hash for equality search without storing the clear value."""
    return hmac.new(settings.PII_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]


class EncryptedTextField(models.TextField):
    """Stores text encrypted; reads decrypt transparently. Empty stays empty."""

    def from_db_value(self, value, expression, connection):
        if not value:
            return value or ""
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return ""
        return encrypt(value)
