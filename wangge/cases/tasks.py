"""Background tasks (django-tasks, database backend; run by `wangge worker`).

The worker also polls the outbox and sweeps on its own; these tasks let other code ask for a
delivery or a sweep now. The committed outbox rows and the deadlines on the cases are the truth.
"""

import dataclasses

from django_tasks import task


@task()
def deliver_outbox() -> dict:
    from wangge.cases.outbox import deliver_due

    return dataclasses.asdict(deliver_due())


@task()
def sweep_deadlines() -> dict:
    from wangge.cases.sweep import sweep

    return dataclasses.asdict(sweep())
