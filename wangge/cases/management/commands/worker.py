"""`wangge worker`: the background worker.

It routes the cases the API took in (智能分派, see `WANGGE_INTAKE_ROUTING`), runs the tasks
queued in the django-tasks database backend and delivers the notification outbox as they come
(checking all three every `--poll` seconds), and every
`--interval` seconds it sweeps the deadlines and care (missed check-ins climbing the chain of
carers, silent devices) and delivers whatever notifications are due, so
nothing waits on a lost nudge. `--once` runs the queue, one sweep and one delivery, then exits
(for cron and tests).

SIGTERM or SIGINT ends the loop after the current step (or the current task); a second signal
while a task runs stops at once, as django-tasks' own worker does.
"""

import logging
import signal
import threading
import time
from dataclasses import asdict, astuple

from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError, close_old_connections, connection
from django.utils.crypto import get_random_string
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.management.commands.db_worker import Worker as DBWorker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from wangge.cases.outbox import deliver_due
from wangge.cases.sweep import ROUND_SWEEPS, SweepResult, sweep
from wangge.dispatch.actions import route_pending

log = logging.getLogger("wangge.worker")


def _drop_stale_connections() -> None:
    # As Django does around a request; never inside a transaction (a test runs in one).
    if not connection.in_atomic_block:
        close_old_connections()


def _interval(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError(raw)
    return value


class Command(BaseCommand):
    help = "Run queued tasks, sweep deadlines and deliver notifications, every --interval seconds."

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval",
            type=_interval,
            default=60.0,
            help="Seconds between rounds (default: %(default)s).",
        )
        parser.add_argument(
            "--poll",
            type=_interval,
            default=1.0,
            help="Seconds between checks of the task queue (default: %(default)s).",
        )
        parser.add_argument("--once", action="store_true", help="Run one round, then exit.")
        parser.add_argument(
            "--queue-name",
            default="default",
            help="django-tasks queues to run, comma-separated (default: %(default)s).",
        )

    def handle(self, *args, interval: float, poll: float, once: bool, queue_name: str, **options):
        self.verbosity = options.get("verbosity", 1)
        self.queues = queue_name.split(",")
        self.worker_id = f"wangge-{get_random_string(12)}"
        self.stopping = threading.Event()
        self.db_worker: DBWorker | None = None
        if once:
            try:
                self.run_round(always_report=True)
            except Exception as exc:
                raise CommandError(f"worker round failed: {exc}") from exc
            return
        if threading.current_thread() is threading.main_thread():
            self._install_signals()  # in a thread (the demo's), the caller stops it
        log.info("worker %s started, sweeping every %ss", self.worker_id, interval)
        next_round = time.monotonic()
        while not self.stopping.is_set():
            try:
                if time.monotonic() >= next_round:
                    next_round = time.monotonic() + interval
                    self.run_round(always_report=False)
                else:
                    _drop_stale_connections()
                    routed = route_pending()
                    ran = self.run_queued_tasks()
                    # The outbox is polled, not nudged: a committed row leaves within a poll.
                    delivered = deliver_due()
                    if routed or ran or any(astuple(delivered)):
                        self.report(routed, ran, SweepResult(), delivered)
            except Exception:
                # A database restart or a bad row must not kill the worker; the next round retries.
                log.exception("worker round failed")
            self.stopping.wait(min(poll, max(next_round - time.monotonic(), 0)))
        log.info("worker %s stopped", self.worker_id)

    def _install_signals(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._stop)

    def _stop(self, signum, frame) -> None:
        if self.stopping.is_set() and self.db_worker and self.db_worker.running_task:
            raise SystemExit(1)  # second signal: give up the running task
        # The current task or step finishes; no other starts.
        log.warning("%s received: stopping after this round", signal.strsignal(signum))
        self.stopping.set()

    def run_round(self, *, always_report: bool) -> None:
        _drop_stale_connections()
        routed = route_pending()
        ran = self.run_queued_tasks()
        swept = sweep()
        others = [(name, run()) for name, run in ROUND_SWEEPS]
        delivered = deliver_due()
        _drop_stale_connections()
        if always_report or routed or ran or any(astuple(swept)) or any(astuple(delivered)):
            self.report(routed, ran, swept, delivered)
        for name, result in others:
            counts = asdict(result)
            if any(counts.values()) and self.verbosity >= 1:
                self.stdout.write(f"{name}: " + " ".join(f"{k}={v}" for k, v in counts.items()))

    def report(self, routed, ran, swept, delivered) -> None:
        if self.verbosity < 1:
            return
        self.stdout.write(
            f"routed={routed} tasks={ran} overdue_accept={swept.overdue_accept} "
            f"warned={swept.warned} overdue={swept.overdue} supervised={swept.supervised} "
            f"sent={delivered.sent} retrying={delivered.retrying} failed={delivered.failed}"
        )

    def run_queued_tasks(self) -> int:
        """Run every ready task of the database backend, claiming each as django-tasks' own
        `db_worker` does and running it with its `Worker.run_task` (which records success or
        failure). Nothing to do when tasks run elsewhere (the tests' immediate backend)."""
        if not isinstance(task_backends[DEFAULT_TASK_BACKEND_ALIAS], DatabaseBackend):
            return 0
        self.db_worker = DBWorker(
            queue_names=self.queues,
            interval=0,
            batch=True,
            backend_name=DEFAULT_TASK_BACKEND_ALIAS,
            startup_delay=False,
            max_tasks=None,
            worker_id=self.worker_id,
            excluded_queue_names=[],
        )
        ready = DBTaskResult.objects.ready().filter(
            backend_name=DEFAULT_TASK_BACKEND_ALIAS, queue_name__in=self.queues
        )
        ran = 0
        try:
            while not self.stopping.is_set():
                try:
                    with exclusive_transaction(ready.db):
                        claimed = ready.get_locked()
                        if claimed is not None:
                            claimed.claim(self.worker_id)
                except OperationalError as exc:
                    if is_locked_database_exception(exc):
                        break  # busy: the next round tries again
                    raise
                if claimed is None:
                    break
                self.db_worker.run_task(claimed)
                ran += 1
        finally:
            self.db_worker = None
        return ran
