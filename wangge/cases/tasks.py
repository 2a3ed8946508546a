"""Background tasks (django-tasks, database backend; run by `wangge worker`).

The tasks are nudges: the committed outbox rows and the deadlines on the cases are the truth,
and the worker's periodic round does the same work if a task is lost.
"""

import dataclasses
import logging

from django_tasks import task

log = logging.getLogger("wangge")


@task()
def deliver_outbox() -> dict:
    from wangge.cases.outbox import deliver_due

    return dataclasses.asdict(deliver_due())


@task()
def sweep_deadlines() -> dict:
    from wangge.cases.sweep import sweep

    return dataclasses.asdict(sweep())


def wake_delivery() -> None:
    """Ask the worker to deliver now; if enqueueing fails the periodic poll still delivers."""
    try:
        deliver_outbox.enqueue()
    except Exception:
        log.warning("could not enqueue outbox delivery", exc_info=True)
