"""The deadline sweep (`wangge sweep`, and every round of `wangge worker`).

For every running clock it records what happened, once per deadline:

- `overdue_accept`: a dispatched case nobody accepted (签收) by `accept_due_at`;
- `warn`: the case turned yellow (past `warn_at`, see `deadlines.deadline_colour`);
- `overdue`: the case turned red (past `due_at`); the command centre then opens a 督办 order.

Each record has a unique dedupe key naming the case and the clock (when it was started), so a
second sweep, or two sweeps at once, record nothing twice: the event insert is the lock, and
whoever loses it in its savepoint moves on. A pause moves `due_at` but not the clock start, so a
resumed case is not warned twice; a new dispatch or a reopen starts a new clock.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.accounts.actions import system_user
from wangge.accounts.models import User
from wangge.cases import deadlines
from wangge.cases.actions import add_event, notify, open_supervision
from wangge.cases.models import Case, CaseEvent, CaseState, EventKind, SupervisionLevel
from wangge.lib.workdays import calendar

log = logging.getLogger("wangge.sweep")

# States waiting for 签收 (a reopened case goes back to its unit to accept again).
AWAITING_ACCEPT = (CaseState.DISPATCHED, CaseState.REOPENED)
# A 督办 opened by the sweep must be answered within this many working days.
SUPERVISION_ANSWER_DAYS = 1


# Other apps' sweeps, run by `wangge worker` after this one each round (care registers its
# missed check-ins and silent devices in its AppConfig.ready): cases need not know them.
ROUND_SWEEPS: list = []


def register_round_sweep(name: str, run) -> None:
    """`run(now=None)` returns a dataclass of counts; the worker prints the non-zero ones."""
    if all(n != name for n, _ in ROUND_SWEEPS):
        ROUND_SWEEPS.append((name, run))


@dataclass
class SweepResult:
    overdue_accept: int = 0
    warned: int = 0
    overdue: int = 0
    supervised: int = 0


def clock_key(case: Case) -> str:
    """Names the deadline: the moment its clock started (UTC, to the microsecond)."""
    start = case.clock_started_at or case.due_at or case.accept_due_at
    return start.astimezone(UTC).strftime("%Y%m%dT%H%M%S%f")


def dedupe_key(kind: str, case: Case) -> str:
    return f"{kind}:{case.pk}:{clock_key(case)}"


def _local(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _iso(moment: datetime) -> str:
    return timezone.localtime(moment).isoformat()


def _record_once(case: Case, kind: str, *, actor: User, now: datetime, data: dict) -> bool:
    """Insert the event in a savepoint; False if this deadline already has one."""
    try:
        with transaction.atomic():
            add_event(
                case, kind, actor=actor, now=now, data=data, dedupe_key=dedupe_key(kind, case)
            )
    except IntegrityError:
        return False
    return True


@transaction.atomic
def record_accept_overdue(case: Case, *, now: datetime, actor: User | None = None) -> bool:
    """未按时签收: a dispatched case not accepted by its deadline; tell the unit once."""
    if case.state not in AWAITING_ACCEPT or not case.accept_due_at or now < case.accept_due_at:
        return False
    actor = actor or system_user("sweep")
    data = {"accept_due_at": _iso(case.accept_due_at), "unit": str(case.unit or "")}
    if not _record_once(case, EventKind.OVERDUE_ACCEPT, actor=actor, now=now, data=data):
        return False
    notify(
        "overdue_accept",
        case=case,
        unit=case.unit,
        user=case.assignee,
        now=now,
        payload={"tracking_code": case.tracking_code, "title": case.title, **data},
        dedupe_key=f"notify:{dedupe_key(EventKind.OVERDUE_ACCEPT, case)}",
    )
    return True


@transaction.atomic
def record_warning(case: Case, *, now: datetime, actor: User | None = None) -> bool:
    """预警: the case turned yellow; tell the unit once."""
    if deadlines.deadline_colour(case, now=now) != deadlines.Colour.YELLOW:
        return False
    actor = actor or system_user("sweep")
    data = {"warn_at": _iso(case.warn_at), "due_at": _iso(case.due_at)}
    if not _record_once(case, EventKind.WARN, actor=actor, now=now, data=data):
        return False
    notify(
        "deadline_warn",
        case=case,
        unit=case.unit,
        user=case.assignee,
        now=now,
        payload={"tracking_code": case.tracking_code, "title": case.title, **data},
        dedupe_key=f"notify:{dedupe_key(EventKind.WARN, case)}",
    )
    return True


@transaction.atomic
def record_overdue(case: Case, *, now: datetime, actor: User | None = None) -> bool:
    """超期: the case turned red; tell the unit and open a command-centre 督办, once."""
    if deadlines.deadline_colour(case, now=now) != deadlines.Colour.RED:
        return False
    actor = actor or system_user("sweep")
    data = {"due_at": _iso(case.due_at), "unit": str(case.unit or "")}
    if not _record_once(case, EventKind.OVERDUE, actor=actor, now=now, data=data):
        return False
    notify(
        "overdue",
        case=case,
        unit=case.unit,
        user=case.assignee,
        now=now,
        payload={"tracking_code": case.tracking_code, "title": case.title, **data},
        dedupe_key=f"notify:{dedupe_key(EventKind.OVERDUE, case)}",
    )
    open_supervision(
        case=case,
        unit=case.unit,
        level=SupervisionLevel.COMMAND_CENTRE,
        demand=_("Overdue since %(due)s: resolve the case and explain the delay.")
        % {"due": _local(case.due_at)},
        due_at=calendar().add_working_days(now, SUPERVISION_ANSWER_DAYS),
        actor=actor,
        now=now,
        dedupe_key=f"supervise:{dedupe_key(EventKind.OVERDUE, case)}",
    )
    return True


def _not_yet(kind: str) -> Exists:
    """No event of this kind since the clock started: the cheap pre-filter (the key decides)."""
    return Exists(
        CaseEvent.objects.filter(
            case=OuterRef("pk"), kind=kind, occurred_at__gte=OuterRef("clock_started_at")
        )
    )


def _due_ids(qs) -> list[int]:
    return list(qs.order_by("due_at", "id").values_list("pk", flat=True))


def sweep(*, now: datetime | None = None) -> SweepResult:
    """Record late acceptance, warnings and overdue cases as of `now`; each case in its own
    transaction, so one failure does not undo the rest."""
    now = now or timezone.now()
    actor = system_user("sweep")
    result = SweepResult()
    cases = Case.objects.select_related("unit", "assignee")

    late_accept = Case.objects.filter(state__in=AWAITING_ACCEPT, accept_due_at__lte=now).exclude(
        _not_yet(EventKind.OVERDUE_ACCEPT)
    )
    for pk in _due_ids(late_accept):
        result.overdue_accept += record_accept_overdue(cases.get(pk=pk), now=now, actor=actor)

    coloured = deadlines.with_colour(Case.objects.all(), now=now)
    yellow = coloured.filter(colour=deadlines.Colour.YELLOW).exclude(_not_yet(EventKind.WARN))
    for pk in _due_ids(yellow):
        result.warned += record_warning(cases.get(pk=pk), now=now, actor=actor)

    red = coloured.filter(colour=deadlines.Colour.RED).exclude(_not_yet(EventKind.OVERDUE))
    for pk in _due_ids(red):
        if record_overdue(cases.get(pk=pk), now=now, actor=actor):
            result.overdue += 1
            result.supervised += 1

    if result.overdue_accept or result.warned or result.overdue:
        log.info("sweep at %s: %s", now.isoformat(), result)
    return result
