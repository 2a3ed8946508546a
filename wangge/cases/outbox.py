"""Delivery of the notification outbox: a log backend by default, an HTTP webhook backend.

A failed delivery is retried with backoff and stays visible; after the last attempt it is
marked failed, never silently dropped.
"""

import json
import logging
import urllib.request
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from wangge.cases.models import Notification, NotificationState

log = logging.getLogger("wangge.notify")


def _send_log(note: Notification) -> None:
    log.info(
        "notify %s case=%s unit=%s user=%s", note.kind, note.case_id, note.unit_id, note.user_id
    )


def _send_webhook(note: Notification) -> None:
    url = settings.WANGGE_WEBHOOK_URL
    if not url.startswith(("http://", "https://")):
        raise RuntimeError("WANGGE_WEBHOOK_URL is not an http(s) URL")
    body = json.dumps(
        {
            "id": note.pk,
            "kind": note.kind,
            "case": note.case_id,
            "unit": note.unit_id,
            "user": note.user_id,
            "payload": note.payload,
        },
        ensure_ascii=False,
    ).encode()
    req = urllib.request.Request(  # noqa: S310 - scheme checked above
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": f"wangge-notification-{note.pk}",
        },
    )
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
        if resp.status >= 300:
            raise RuntimeError(f"webhook answered {resp.status}")


BACKENDS = {"log": _send_log, "webhook": _send_webhook}


def deliver_due(*, now=None, limit: int = 200) -> int:
    """Deliver pending notifications whose time has come; returns how many were sent."""
    now = now or timezone.now()
    send = BACKENDS[settings.WANGGE_NOTIFY_BACKEND]
    sent = 0
    ids = list(
        Notification.objects.filter(state=NotificationState.PENDING, next_attempt_at__lte=now)
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        with transaction.atomic():
            note = Notification.objects.filter(pk=pk, state=NotificationState.PENDING).first()
            if note is None:
                continue
            try:
                send(note)
            except Exception as exc:
                note.attempts += 1
                note.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                if note.attempts >= settings.WANGGE_NOTIFY_MAX_ATTEMPTS:
                    note.state = NotificationState.FAILED
                else:
                    note.next_attempt_at = now + timedelta(minutes=2**note.attempts)
                note.save(update_fields=["attempts", "last_error", "state", "next_attempt_at"])
                continue
            note.attempts += 1
            note.state = NotificationState.SENT
            note.sent_at = now
            note.save(update_fields=["attempts", "state", "sent_at"])
            sent += 1
    return sent
