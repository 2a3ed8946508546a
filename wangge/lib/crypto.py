"""Field encryption for personal data at rest (PIPL): phone and ID numbers are stored as Fernet
tokens, so a database dump alone reveals nothing. A keyed hash beside them allows exact lookups.

Key rotation: set the new key as `WANGGE_PII_KEY` and the previous ones in
`WANGGE_PII_OLD_KEYS`; reads decrypt with any of them, writes use the new one, and
`wangge pii rotate` re-encrypts every stored value (and recomputes the keyed hashes) so the old
keys can then be dropped."""

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
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


def _keys() -> MultiFernet:
    """The current key first (it encrypts), then the old ones (they still decrypt)."""
    return _multi(settings.PII_KEY, tuple(getattr(settings, "PII_OLD_KEYS", ())))


@lru_cache(maxsize=4)
def _multi(current: str, old: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([_fernet(current), *(_fernet(k) for k in old)])


def encrypt(value: str) -> str:
    return _keys().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return decrypt_strict(token)
    except InvalidToken:
        return ""


def decrypt_strict(token: str) -> str:
    """Like `decrypt`, but a token no configured key opens raises `InvalidToken`."""
    return _keys().decrypt(token.encode()).decode()


def is_current(token: str) -> bool:
    """Whether the token was written with the current key (rotation skips those)."""
    try:
        _fernet(settings.PII_KEY).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def blind_index(value: str) -> str:
    """A keyed hash for equality search without storing the clear value. Keyed by the current
    key: `wangge pii rotate` recomputes stored ones after a key change."""
    return hmac.new(settings.PII_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]


def phone_digits(phone: str) -> str:
    """A phone number as its digits, without China's +86: the same phone written with spaces,
    dashes or a country code gives one keyed hash."""
    digits = "".join(c for c in phone or "" if c.isdigit())
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits


def phone_index(phone: str) -> str | None:
    """The keyed hash of a phone's digits (None without a phone)."""
    digits = phone_digits(phone)
    return blind_index(digits) if digits else None


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
