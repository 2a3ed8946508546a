"""The deadline sweep and the worker: late acceptance, warnings, overdue cases and 督办,
each recorded once however often the sweep runs."""

import threading
from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from wangge.cases.actions import accept_case, dispatch_case, resolve_case
from wangge.cases.models import (
    CaseEvent,
    Notification,
    NotificationState,
    SupervisionLevel,
    SupervisionOrder,
)
from wangge.cases.sweep import SweepResult, record_overdue, sweep
from wangge.cases.tasks import deliver_outbox

SH = ZoneInfo("Asia/Shanghai")


def at(m, d, hh=10, mm=0, y=2026):
    return datetime(y, m, d, hh, mm, tzinfo=SH)


def kinds(case) -> list[str]:
    return [e.kind for e in case.events.all()]


def notes(case) -> list[tuple[str, str | None]]:
    return [(n.kind, n.unit.code if n.unit else None) for n in case.notifications.all()]


def dispatched(world, report, *, title="小区路灯不亮", now=None):
    """A 路灯 case (accept in 4 working hours, resolve in 5 working days) sent to 城管局."""
    now = now or at(3, 2)
    case = report(title, category="0201", now=now - timedelta(minutes=30))
    return dispatch_case(case, unit=world.unit("urban"), actor=world.dispatcher, now=now)


def test_a_case_not_accepted_in_time_is_recorded_once_and_the_unit_told(world, report):
    case = dispatched(world, report)  # Monday 10:00, accept by 14:00

    assert sweep(now=at(3, 2, 13, 59)) == SweepResult()
    assert sweep(now=at(3, 2, 14)) == SweepResult(overdue_accept=1)
    assert sweep(now=at(3, 2, 16)) == SweepResult()

    event = case.events.get(kind="overdue_accept")
    assert (event.actor.username, event.occurred_at, event.audience) == (
        "system:sweep",
        at(3, 2, 14),
        "internal",
    )
    assert kinds(case) == ["report", "dispatch", "overdue_accept"]
    assert notes(case) == [("new_case", "urban"), ("overdue_accept", "urban")]


def test_a_case_accepted_in_time_is_not_flagged(world, report):
    case = dispatched(world, report)
    accept_case(case, actor=world.urban_handler, now=at(3, 2, 13))
    assert sweep(now=at(3, 2, 15)) == SweepResult()
    assert kinds(case) == ["report", "dispatch", "accept"]


def test_a_red_case_opens_supervision_exactly_once_when_the_sweep_runs_twice(world, report):
    case = dispatched(world, report)
    accept_case(case, actor=world.urban_handler, now=at(3, 2, 11))

    first = sweep(now=at(3, 9, 10))  # due Monday 9 March 10:00
    second = sweep(now=at(3, 9, 10, 5))
    third = sweep(now=at(3, 20))

    assert (first, second, third) == (
        SweepResult(overdue=1, supervised=1),
        SweepResult(),
        SweepResult(),
    )
    assert kinds(case) == ["report", "dispatch", "accept", "overdue", "supervise"]
    order = SupervisionOrder.objects.get(case=case)
    assert (
        order.level,
        order.unit,
        order.opened_by.username,
        order.opened_at,
        order.due_at,
        order.state,
        order.demand,
    ) == (
        SupervisionLevel.COMMAND_CENTRE,
        world.unit("urban"),
        "system:sweep",
        at(3, 9, 10),
        at(3, 10, 10),  # one working day to answer
        "open",
        "已于 2026-03-09 10:00 超期：请尽快办结并说明超期原因。",
    )
    assert notes(case) == [("new_case", "urban"), ("overdue", "urban"), ("supervision", "urban")]


def test_a_case_turns_yellow_then_red_and_each_is_recorded_once(world, report):
    case = dispatched(world, report)
    accept_case(case, actor=world.urban_handler, now=at(3, 2, 11))

    results = [sweep(now=now) for now in (at(3, 6, 9), at(3, 6, 10), at(3, 6, 15), at(3, 9, 11))]

    assert results == [
        SweepResult(),
        SweepResult(warned=1),
        SweepResult(),
        SweepResult(overdue=1, supervised=1),
    ]
    assert kinds(case) == ["report", "dispatch", "accept", "warn", "overdue", "supervise"]
    assert [n.kind for n in case.notifications.all()] == [
        "new_case",
        "deadline_warn",
        "overdue",
        "supervision",
    ]


def test_a_case_found_already_red_is_not_warned_after_the_fact(world, report):
    case = dispatched(world, report)
    accept_case(case, actor=world.urban_handler, now=at(3, 2, 11))
    assert sweep(now=at(3, 12)) == SweepResult(overdue=1, supervised=1)
    assert kinds(case) == ["report", "dispatch", "accept", "overdue", "supervise"]


def test_a_resolved_case_is_left_alone(world, report):
    case = dispatched(world, report)
    case = accept_case(case, actor=world.urban_handler, now=at(3, 2, 11))
    resolve_case(case, outcome="solved", note="已更换灯泡", actor=world.urban_handler, now=at(3, 3))
    assert sweep(now=at(4, 1)) == SweepResult()
    assert SupervisionOrder.objects.count() == 0


def test_a_second_sweep_that_lost_the_race_records_nothing_and_keeps_its_transaction(world, report):
    # Two sweeps listed the same red case; the first records it, the second's insert of the
    # same dedupe key fails in its savepoint and the work around it goes on.
    case = dispatched(world, report)
    accept_case(case, actor=world.urban_handler, now=at(3, 2, 11))

    assert record_overdue(case, now=at(3, 9, 11)) is True
    assert record_overdue(case, now=at(3, 9, 11, 1)) is False

    assert kinds(case) == ["report", "dispatch", "accept", "overdue", "supervise"]
    assert SupervisionOrder.objects.filter(case=case).count() == 1
    assert [n.kind for n in case.notifications.all()] == ["new_case", "overdue", "supervision"]


def test_a_new_dispatch_is_a_new_deadline_that_is_swept_again(world, report):
    from wangge.cases.actions import return_case

    case = dispatched(world, report)
    assert sweep(now=at(3, 2, 15)) == SweepResult(overdue_accept=1)
    return_case(case, reason="不属于本单位职责", actor=world.urban_handler, now=at(3, 2, 16))
    case.refresh_from_db()
    dispatch_case(case, unit=world.unit("housing"), actor=world.dispatcher, now=at(3, 3))
    assert sweep(now=at(3, 3, 15)) == SweepResult(overdue_accept=1)
    assert list(
        CaseEvent.objects.filter(case=case, kind="overdue_accept").values_list(
            "occurred_at", "data__unit"
        )
    ) == [(at(3, 2, 15), "县城市管理局"), (at(3, 3, 15), "县住房和城乡建设局")]


def test_wangge_sweep_command_prints_what_it_recorded(world, report):
    now = timezone.now()
    case = dispatched(world, report, now=now - timedelta(days=30))
    accept_case(case, actor=world.urban_handler, now=now - timedelta(days=29))
    out = StringIO()
    call_command("sweep", stdout=out)
    call_command("sweep", stdout=out)
    assert out.getvalue().splitlines() == [
        "overdue_accept=0 warned=0 overdue=1 supervised=1",
        "overdue_accept=0 warned=0 overdue=0 supervised=0",
    ]


def test_worker_once_sweeps_and_delivers_pending_notifications(world, report):
    now = timezone.now()
    late = dispatched(world, report, title="一月前派的", now=now - timedelta(days=30))
    fresh = dispatched(world, report, title="刚派的", now=now - timedelta(minutes=5))
    assert Notification.objects.filter(state=NotificationState.PENDING).count() == 2

    out = StringIO()
    call_command("worker", "--once", stdout=out)

    assert out.getvalue().splitlines() == [
        "routed=0 tasks=0 overdue_accept=1 warned=0 overdue=1 supervised=1 sent=5 retrying=0"
        " failed=0"
    ]
    assert kinds(late) == ["report", "dispatch", "overdue_accept", "overdue", "supervise"]
    assert kinds(fresh) == ["report", "dispatch"]
    assert list(Notification.objects.values_list("kind", "state", "attempts")) == [
        ("new_case", "sent", 1),
        ("new_case", "sent", 1),
        ("overdue_accept", "sent", 1),
        ("overdue", "sent", 1),
        ("supervision", "sent", 1),
    ]


def test_worker_once_runs_the_database_task_queue(world, report, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    case = dispatched(world, report, now=timezone.now() - timedelta(minutes=5))
    result = deliver_outbox.enqueue()
    assert DBTaskResult.objects.get(pk=result.id).status == "READY"

    out = StringIO()
    call_command("worker", "--once", stdout=out)

    assert DBTaskResult.objects.get(pk=result.id).status == "SUCCESSFUL"
    assert DBTaskResult.objects.get(pk=result.id).return_value == {
        "sent": 1,
        "retrying": 0,
        "failed": 0,
    }
    assert out.getvalue().splitlines() == [
        "routed=0 tasks=1 overdue_accept=0 warned=0 overdue=0 supervised=0 sent=0 retrying=0"
        " failed=0"
    ]
    assert list(case.notifications.values_list("kind", "state")) == [("new_case", "sent")]


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="needs concurrent writers on separate connections; pytest-django's in-memory SQLite "
    "reports a locked table instead of waiting, so run this on PostgreSQL",
)
def test_two_sweeps_at_once_record_one_overdue_and_open_one_order(
    world_after_flush, transactional_db, world, report
):
    case = dispatched(world, report)
    accept_case(case, actor=world.urban_handler, now=at(3, 2, 11))
    start = threading.Barrier(2)
    results: list[SweepResult] = []

    def run():
        try:
            start.wait()
            results.append(sweep(now=at(3, 9, 11)))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(r.overdue for r in results) == [0, 1]
    assert kinds(case) == ["report", "dispatch", "accept", "overdue", "supervise"]
    assert SupervisionOrder.objects.filter(case=case).count() == 1
    assert [n.kind for n in case.notifications.all()] == ["new_case", "overdue", "supervision"]
