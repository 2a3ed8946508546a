"""Deadlines: limits from `DeadlinePolicy`, counted on the working-day calendar.

Only facts are stored (`accept_due_at`, `warn_at`, `due_at`); the colour is computed on read,
so it can never go stale.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Case as SqlCase
from django.db.models import CharField, Q, QuerySet, Value, When
from django.utils.translation import gettext_lazy as _

from wangge.cases.models import CLOCK_STATES, Case, Category, DeadlinePolicy, Priority, TimeUnit
from wangge.lib.workdays import calendar

# Used when neither the category chain nor the catch-all row has a policy.
FALLBACK = {
    Priority.NORMAL: (4, TimeUnit.WORK_HOURS, 5, TimeUnit.WORK_DAYS),
    Priority.URGENT: (2, TimeUnit.WORK_HOURS, 2, TimeUnit.WORK_DAYS),
    Priority.EMERGENCY: (1, TimeUnit.WORK_HOURS, 8, TimeUnit.WORK_HOURS),
}


class Colour:
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"
    NONE = ""

    LABELS = {GREEN: _("On time"), YELLOW: _("Due soon"), RED: _("Overdue"), NONE: ""}


@dataclass(frozen=True)
class Limits:
    accept: int
    accept_unit: str
    resolve: int
    resolve_unit: str


def limits_for(category: Category | None, priority: str) -> Limits:
    """The nearest policy up the category tree, then the catch-all row, then the fallback."""
    chain = category.lineage() if category else []
    policies = {
        p.category_id: p
        for p in DeadlinePolicy.objects.filter(
            Q(category__in=chain) | Q(category__isnull=True), priority=priority
        )
    }
    for cat in [*chain, None]:
        p = policies.get(cat.pk if cat else None)
        if p:
            return Limits(p.accept_limit, p.accept_unit, p.resolve_limit, p.resolve_unit)
    return Limits(*FALLBACK[Priority(priority)])


def add_limit(start: datetime, amount: float, unit: str) -> datetime:
    if unit == TimeUnit.MINUTES:
        return start + timedelta(minutes=amount)
    cal = calendar()
    if unit == TimeUnit.WORK_DAYS:
        return cal.add_working_days(start, amount)
    return cal.add_working_hours(start, amount)


def warn_time(start: datetime, due: datetime) -> datetime:
    """When the clock turns yellow: WANGGE_WARN_SHARE of the working time from start to due
    (of the wall-clock time, for a clock shorter than a day: a minutes clock runs at night)."""
    if due - start < timedelta(days=1) and not calendar().working_hours_between(start, due):
        return start + (due - start) * settings.WANGGE_WARN_SHARE
    allowed = calendar().working_hours_between(start, due)
    return calendar().add_working_hours(start, allowed * settings.WANGGE_WARN_SHARE)


def resolve_clock(start: datetime, limits: Limits) -> tuple[datetime, datetime]:
    """(warn_at, due_at) for a clock starting at `start`."""
    due = add_limit(start, limits.resolve, limits.resolve_unit)
    return warn_time(start, due), due


def accept_deadline(start: datetime, limits: Limits) -> datetime:
    return add_limit(start, limits.accept, limits.accept_unit)


def shift_for_pause(moment: datetime | None, paused_from: datetime, resumed_at: datetime):
    """Paused working time does not count: move a deadline by the working time spent paused."""
    if moment is None:
        return None
    paused_hours = calendar().working_hours_between(paused_from, resumed_at)
    return calendar().add_working_hours(moment, paused_hours) if paused_hours else moment


def deadline_colour(case: Case, *, now: datetime) -> str:
    """Green, yellow (past warn_at) or red (past due_at) while the clock runs; '' otherwise."""
    if case.state not in CLOCK_STATES or case.due_at is None:
        return Colour.NONE
    if now >= case.due_at:
        return Colour.RED
    if case.warn_at and now >= case.warn_at:
        return Colour.YELLOW
    return Colour.GREEN


def with_colour(qs: QuerySet[Case], *, now: datetime) -> QuerySet[Case]:
    """Annotate `colour` in SQL, same rule as `deadline_colour`, so lists can filter on it."""
    running = Q(state__in=CLOCK_STATES, due_at__isnull=False)
    return qs.annotate(
        colour=SqlCase(
            When(running & Q(due_at__lte=now), then=Value(Colour.RED)),
            When(running & Q(warn_at__lte=now), then=Value(Colour.YELLOW)),
            When(running, then=Value(Colour.GREEN)),
            default=Value(Colour.NONE),
            output_field=CharField(),
        )
    )


def overdue_by(case: Case, *, now: datetime) -> timedelta | None:
    if case.due_at and now > case.due_at and case.state in CLOCK_STATES:
        return now - case.due_at
    return None
