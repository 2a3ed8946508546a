"""The notification outbox: delivered after commit, retried with backoff, never dropped.

The webhook is tested against a real HTTP server on 127.0.0.1."""

import json
import logging
import socket
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ImproperlyConfigured

from wangge.cases.actions import dispatch_case, notify
from wangge.cases.models import Notification
from wangge.cases.outbox import Delivery, deliver_due, deliver_one, undelivered

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=SH)


class Receiver:
    """A webhook receiver answering with the given statuses in turn (the last one repeats)."""

    def __init__(self, statuses: list[int]):
        self.statuses = statuses
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(
                    {
                        "path": self.path,
                        "content_type": self.headers["Content-Type"],
                        "key": self.headers["Idempotency-Key"],
                        "body": json.loads(body),
                    }
                )
                n = len(receiver.requests) - 1
                status = receiver.statuses[min(n, len(receiver.statuses) - 1)]
                answer = b"ok" if status < 300 else b"database is down"
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def webhook(settings):
    receivers = []

    def start(*statuses: int) -> Receiver:
        receiver = Receiver(list(statuses))
        receivers.append(receiver)
        settings.WANGGE_NOTIFY_BACKEND = "webhook"
        settings.WANGGE_WEBHOOK_URL = receiver.url
        return receiver

    yield start
    for receiver in receivers:
        receiver.close()


def new_case_note(world, report) -> Notification:
    case = report("小区路灯不亮", category="0201", now=T0 - timedelta(minutes=5))
    dispatch_case(case, unit=world.unit("urban"), actor=world.dispatcher, now=T0)
    return Notification.objects.get(case=case, kind="new_case")


def row(note: Notification) -> tuple:
    note.refresh_from_db()
    return (note.state, note.attempts, note.next_attempt_at, note.last_error)


def test_a_200_from_the_webhook_marks_the_notification_sent(world, report, webhook):
    receiver = webhook(200)
    note = new_case_note(world, report)

    assert deliver_due(now=T0 + timedelta(seconds=30)) == Delivery(sent=1)

    note.refresh_from_db()
    assert (note.state, note.attempts, note.sent_at, note.last_error) == (
        "sent",
        1,
        T0 + timedelta(seconds=30),
        "",
    )
    assert receiver.requests == [
        {
            "path": "/hook",
            "content_type": "application/json; charset=utf-8",
            "key": f"wangge-notification-{note.pk}",
            "body": {
                "id": note.pk,
                "kind": "new_case",
                "case": note.case_id,
                "unit": world.unit("urban").pk,
                "user": None,
                "payload": {"title": "小区路灯不亮", "due_at": "2026-03-09T10:00:00+08:00"},
                "created_at": note.created_at.isoformat(),
            },
        }
    ]
    # Delivered once: another round sends nothing.
    assert deliver_due(now=T0 + timedelta(hours=1)) == Delivery()
    assert len(receiver.requests) == 1


def test_a_500_is_retried_with_backoff_then_failed_and_still_listed(
    world, report, webhook, settings
):
    settings.WANGGE_NOTIFY_MAX_ATTEMPTS = 3
    receiver = webhook(500)
    note = new_case_note(world, report)
    error = "RuntimeError: webhook answered 500: database is down"

    rounds = []
    for now in (T0, T0 + timedelta(seconds=59), T0 + timedelta(minutes=1)):
        rounds.append((deliver_due(now=now), row(note)))
    assert rounds == [
        (Delivery(retrying=1), ("pending", 1, T0 + timedelta(minutes=1), error)),
        (Delivery(), ("pending", 1, T0 + timedelta(minutes=1), error)),  # not due yet
        (Delivery(retrying=1), ("pending", 2, T0 + timedelta(minutes=3), error)),
    ]
    assert deliver_due(now=T0 + timedelta(minutes=3)) == Delivery(failed=1)
    assert row(note) == ("failed", 3, T0 + timedelta(minutes=3), error)

    # Failed for good: no more attempts, and it heads the list of what was not delivered.
    assert deliver_due(now=T0 + timedelta(days=1)) == Delivery()
    assert [r["key"] for r in receiver.requests] == [f"wangge-notification-{note.pk}"] * 3
    assert list(undelivered().values_list("pk", "state")) == [(note.pk, "failed")]


def test_a_delivery_that_fails_once_succeeds_on_retry_and_clears_the_error(world, report, webhook):
    receiver = webhook(500, 200)
    note = new_case_note(world, report)

    assert deliver_due(now=T0) == Delivery(retrying=1)
    assert deliver_due(now=T0 + timedelta(minutes=1)) == Delivery(sent=1)

    note.refresh_from_db()
    assert (note.state, note.attempts, note.sent_at, note.last_error) == (
        "sent",
        2,
        T0 + timedelta(minutes=1),
        "",
    )
    assert len(receiver.requests) == 2
    assert list(undelivered()) == []


def test_an_unreachable_webhook_is_recorded_as_the_error(world, report, settings):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.WANGGE_NOTIFY_BACKEND = "webhook"
    settings.WANGGE_WEBHOOK_URL = f"http://127.0.0.1:{port}/hook"
    note = new_case_note(world, report)

    assert deliver_due(now=T0) == Delivery(retrying=1)
    state, attempts, next_at, last_error = row(note)
    assert (state, attempts, next_at) == ("pending", 1, T0 + timedelta(minutes=1))
    assert (last_error.startswith("URLError: <urlopen error"), "refused" in last_error) == (
        True,
        True,
    )


def test_a_row_another_worker_claimed_is_not_sent_twice(world, report, webhook):
    receiver = webhook(200)
    note = new_case_note(world, report)
    stale = Notification.objects.get(pk=note.pk)  # a second worker read it too

    assert deliver_one(note, now=T0) == "sent"
    assert deliver_one(stale, now=T0) == ""
    assert len(receiver.requests) == 1
    assert row(note)[:2] == ("sent", 1)


def test_the_log_backend_writes_one_line_per_notification(world, report, caplog):
    note = new_case_note(world, report)
    notify_log = logging.getLogger("wangge.notify")
    notify_log.addHandler(caplog.handler)  # the logger does not propagate to the root
    try:
        assert deliver_due(now=T0) == Delivery(sent=1)
    finally:
        notify_log.removeHandler(caplog.handler)
    assert [r.getMessage() for r in caplog.records if r.name == "wangge.notify"] == [
        f"notify new_case case={note.case_id} unit={world.unit('urban').pk} user=None "
        'payload={"due_at": "2026-03-09T10:00:00+08:00", "title": "小区路灯不亮"}'
    ]
    assert row(note)[:2] == ("sent", 1)


def test_an_unknown_backend_stops_delivery_and_changes_nothing(world, report, settings):
    settings.WANGGE_NOTIFY_BACKEND = "carrier-pigeon"
    note = new_case_note(world, report)
    with pytest.raises(ImproperlyConfigured, match="WANGGE_NOTIFY_BACKEND"):
        deliver_due(now=T0)
    assert row(note) == ("pending", 0, T0, "")


def test_a_notification_with_the_same_dedupe_key_is_queued_once(world, report):
    note = new_case_note(world, report)
    first = notify("overdue", case=note.case, now=T0, dedupe_key="overdue:demo")
    second = notify("overdue", case=note.case, now=T0, dedupe_key="overdue:demo")
    assert (first.kind, second) == ("overdue", None)
    assert list(note.case.notifications.values_list("kind", flat=True)) == ["new_case", "overdue"]
