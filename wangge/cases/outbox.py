"""Delivery of the notification outbox: a log backend by default, an HTTP webhook backend.

Actions write `Notification` rows in their transaction (`actions.notify`); the worker delivers
them after commit. A failed delivery is retried with backoff and stays visible (`attempts`,
`last_error`); after WANGGE_NOTIFY_MAX_ATTEMPTS it is marked failed, never silently dropped.

Each row is claimed with a compare-and-set before it is sent, and sent outside any transaction:
a slow webhook must not hold a database lock, and two workers must not send the same row.
Delivery is at least once (a worker may die after sending, before recording); the webhook
carries an `Idempotency-Key` so the receiver can drop a repeat.
"""

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from django.utils import timezone

from wangge.cases.models import Notification, NotificationState
from wangge.lib.crypto import decrypt
from wangge.lib.masking import mask_phone

log = logging.getLogger("wangge.notify")

# A claimed row is left alone by other workers for this long; if the sender dies, it comes back.
LEASE = timedelta(minutes=5)
# Backoff after the n-th failure: 1, 2, 4, 8 … minutes, at most 6 hours.
BACKOFF_MAX = timedelta(hours=6)
WEBHOOK_TIMEOUT_SECONDS = 10


def backoff(attempts: int) -> timedelta:
    return min(timedelta(minutes=2 ** (attempts - 1)), BACKOFF_MAX)


ENCRYPTED = "encrypted_"


def clear_payload(payload: dict, *, masked: bool = False) -> dict:
    """The payload as sent. A message that must carry personal data (the phone a verification
    code goes to) stores it encrypted under `encrypted_<name>`; it is opened only on the way out
    (masked, for the log)."""
    out = {}
    for key, value in payload.items():
        if key.startswith(ENCRYPTED) and isinstance(value, str):
            name, value = key[len(ENCRYPTED) :], decrypt(value)
            out[name] = mask_phone(value) if masked and name == "phone" else value
        else:
            out[key] = value
    return out


def _send_log(note: Notification) -> None:
    log.info(
        "notify %s case=%s unit=%s user=%s payload=%s",
        note.kind,
        note.case_id,
        note.unit_id,
        note.user_id,
        json.dumps(clear_payload(note.payload, masked=True), ensure_ascii=False, sort_keys=True),
    )


def webhook_body(note: Notification) -> dict:
    """What the webhook receives: the outbox row, with personal data only where a message needs
    it to reach a person (an SMS gateway needs the phone number)."""
    return {
        "id": note.pk,
        "kind": note.kind,
        "case": note.case_id,
        "unit": note.unit_id,
        "user": note.user_id,
        "payload": clear_payload(note.payload),
        "created_at": note.created_at.isoformat() if note.created_at else None,
    }


def _send_webhook(note: Notification) -> None:
    url = settings.WANGGE_WEBHOOK_URL
    if not url.startswith(("http://", "https://")):
        raise RuntimeError("WANGGE_WEBHOOK_URL is not an http(s) URL")
    req = urllib.request.Request(  # noqa: S310 - scheme checked above
        url,
        data=json.dumps(webhook_body(note), ensure_ascii=False).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": f"wangge-notification-{note.pk}",
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=WEBHOOK_TIMEOUT_SECONDS) as resp:  # noqa: S310
            if not 200 <= resp.status < 300:
                raise RuntimeError(f"webhook answered {resp.status}")
    except urllib.error.HTTPError as exc:
        # Keep the start of the receiver's answer: it usually says what was wrong.
        detail = exc.read(300).decode("utf-8", "replace").strip()
        raise RuntimeError(f"webhook answered {exc.code}: {detail}".rstrip(": ")) from None


BACKENDS = {"log": _send_log, "webhook": _send_webhook}


def backend():
    try:
        return BACKENDS[settings.WANGGE_NOTIFY_BACKEND]
    except KeyError:
        raise ImproperlyConfigured(
            f"WANGGE_NOTIFY_BACKEND must be one of {sorted(BACKENDS)}, "
            f"not {settings.WANGGE_NOTIFY_BACKEND!r}"
        ) from None


@dataclass
class Delivery:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def _claim(note: Notification, *, now: datetime) -> bool:
    """Compare-and-set: only the worker that moves `next_attempt_at` on may send the row."""
    won = Notification.objects.filter(
        pk=note.pk, state=NotificationState.PENDING, next_attempt_at=note.next_attempt_at
    ).update(next_attempt_at=now + LEASE)
    return won == 1


def deliver_one(note: Notification, *, now: datetime, send=None) -> str:
    """Try to send one claimed-or-not row; returns its state afterwards ('' if another worker
    has it)."""
    send = send or backend()
    if not _claim(note, now=now):
        return ""
    attempts = note.attempts + 1
    try:
        send(note)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if attempts >= settings.WANGGE_NOTIFY_MAX_ATTEMPTS:
            state, next_at = NotificationState.FAILED, now
            log.error(
                "notification %s failed for good after %s attempts: %s", note.pk, attempts, error
            )
        else:
            state, next_at = NotificationState.PENDING, now + backoff(attempts)
            log.warning("notification %s attempt %s failed: %s", note.pk, attempts, error)
        Notification.objects.filter(pk=note.pk).update(
            attempts=attempts, last_error=error, state=state, next_attempt_at=next_at
        )
        return state
    Notification.objects.filter(pk=note.pk).update(
        attempts=attempts, state=NotificationState.SENT, sent_at=now, last_error=""
    )
    return NotificationState.SENT


def deliver_due(*, now: datetime | None = None, limit: int = 200) -> Delivery:
    """Deliver pending notifications whose time has come, oldest first."""
    now = now or timezone.now()
    send = backend()
    result = Delivery()
    due = list(
        Notification.objects.filter(
            state=NotificationState.PENDING, next_attempt_at__lte=now
        ).order_by("next_attempt_at", "id")[:limit]
    )
    for note in due:
        state = deliver_one(note, now=now, send=send)
        if state == NotificationState.SENT:
            result.sent += 1
        elif state == NotificationState.PENDING:
            result.retrying += 1
        elif state == NotificationState.FAILED:
            result.failed += 1
    return result


def undelivered() -> QuerySet[Notification]:
    """Everything not yet delivered, failed first: what an administrator must look at."""
    return Notification.objects.exclude(state=NotificationState.SENT).order_by("state", "id")
