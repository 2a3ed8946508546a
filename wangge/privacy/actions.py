"""Proving a phone is yours: a six-digit code through the outbox (an SMS gateway behind the
webhook; the log backend prints it in development), checked once, in time, within five tries."""

import hmac
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wangge.cases.actions import notify
from wangge.lib.crypto import blind_index, encrypt
from wangge.lib.errors import Conflict, InvalidInput
from wangge.people.importing import phone_problem
from wangge.privacy.models import PhoneCheck

CHECK_MINUTES = 10
CHECK_ATTEMPTS = 5
CHECKS_PER_HOUR = 3


def _code_hash(check_id: int, code: str) -> str:
    return blind_index(f"phone-check:{check_id}:{code}")


@transaction.atomic
def request_phone_check(phone: str, *, now=None) -> PhoneCheck:
    """Send a six-digit code to the phone (through the outbox: an SMS gateway behind the
    webhook); at most three codes an hour per phone."""
    now = now or timezone.now()
    phone = "".join((phone or "").split())
    if phone_problem(phone):
        raise InvalidInput(fields={"phone": str(_("Not a phone number."))})
    index = blind_index(phone)
    recent = PhoneCheck.objects.filter(phone_index=index, created_at__gte=now - timedelta(hours=1))
    if recent.count() >= CHECKS_PER_HOUR:
        raise Conflict(_("Too many codes for this number: try again in an hour."))
    code = f"{secrets.randbelow(1_000_000):06d}"
    check = PhoneCheck.objects.create(
        phone=phone,
        phone_index=index,
        code_hash="",
        created_at=now,
        expires_at=now + timedelta(minutes=CHECK_MINUTES),
    )
    check.code_hash = _code_hash(check.pk, code)
    check.save(update_fields=["code_hash"])
    notify(
        "phone_check",
        payload={"encrypted_phone": encrypt(phone), "encrypted_code": encrypt(code)},
        now=now,
    )
    return check


@transaction.atomic
def verify_phone_check(check: PhoneCheck, code: str, *, now=None) -> PhoneCheck:
    """The code the person received: right, in time and within five tries."""
    now = now or timezone.now()
    check = PhoneCheck.objects.select_for_update().get(pk=check.pk)
    if check.verified_at is not None:
        return check
    if check.expires_at < now or check.attempts >= CHECK_ATTEMPTS:
        raise Conflict(_("This code has expired: ask for a new one."))
    check.attempts += 1
    if not hmac.compare_digest(check.code_hash, _code_hash(check.pk, (code or "").strip())):
        check.save(update_fields=["attempts"])
        raise InvalidInput(fields={"code": str(_("The code is not right."))})
    check.verified_at = now
    check.save(update_fields=["attempts", "verified_at"])
    return check
