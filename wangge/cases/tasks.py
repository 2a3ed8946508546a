"""Background tasks (django-tasks, database backend; run by `wangge worker`)."""

from django_tasks import task


@task()
def deliver_outbox() -> int:
    from wangge.cases.outbox import deliver_due

    return deliver_due()


def wake_delivery() -> None:
    """Ask the worker to deliver now; if enqueueing fails the periodic poll still delivers."""
    try:
        deliver_outbox.enqueue()
    except Exception:
        import logging

        logging.getLogger("wangge").warning("could not enqueue outbox delivery", exc_info=True)
