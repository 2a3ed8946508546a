"""Read side for care, scoped like the registry: what lies in the user's grid subtrees."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max, Q, QuerySet

from wangge.accounts.permissions import Perm
from wangge.accounts.queries import cells_q
from wangge.care.models import Device, Enrolment, MissedCheckIn, Visit
from wangge.grids.models import GridCell
from wangge.lib.errors import NotFound
from wangge.people.models import Household


def _within(qs: QuerySet, user, perm: Perm, prefix: str) -> QuerySet:
    scope = cells_q(user, perm, prefix)
    return qs.filter(scope) if scope is not None else qs.none()


def visible_alerts(user, perm: Perm = Perm.VIEW_RESIDENTS) -> QuerySet[MissedCheckIn]:
    alerts = MissedCheckIn.objects.select_related("enrolment__resident__household__cell", "case")
    return _within(alerts, user, perm, "enrolment__resident__household__cell__")


def visible_enrolments(user, perm: Perm = Perm.VIEW_RESIDENTS) -> QuerySet[Enrolment]:
    enrolments = Enrolment.objects.select_related("resident__household__cell")
    return _within(enrolments, user, perm, "resident__household__cell__")


def visible_devices(user, perm: Perm = Perm.VIEW_RESIDENTS) -> QuerySet[Device]:
    devices = Device.objects.select_related("household__cell")
    return _within(devices, user, perm, "household__cell__")


def visible_visits(user, perm: Perm = Perm.VIEW_RESIDENTS) -> QuerySet[Visit]:
    return _within(Visit.objects.select_related("household__cell"), user, perm, "household__cell__")


def get_or_404(qs: QuerySet, pk: int):
    found = qs.filter(pk=pk).first()
    if found is None:
        raise NotFound()
    return found


@dataclass
class Coverage:
    cell: GridCell
    households: int
    visited: int
    overdue: list[Household]  # not visited within the period, longest unvisited first

    @property
    def share(self) -> float | None:
        return round(self.visited / self.households, 4) if self.households else None


def visit_coverage(cell: GridCell, *, since: datetime, now: datetime, overdue_limit: int = 50):
    """走访覆盖: for each child of `cell` (and the cell itself, for households on it directly),
    how many households were visited since `since`, and which were not (longest unvisited
    first)."""
    children = list(cell.children.order_by("code")) or [cell]
    households = (
        Household.objects.filter(cell__path__startswith=cell.path)
        .select_related("cell")
        .annotate(
            last_visit=Max("visits__visited_at", filter=Q(visits__visited_at__lte=now)),
            recent=Count(
                "visits", filter=Q(visits__visited_at__gte=since, visits__visited_at__lte=now)
            ),
        )
    )
    rows = {child.pk: Coverage(child, 0, 0, []) for child in children}
    for home in households:
        # Households on the cell itself, under none of its children, get the cell's own row.
        owner = next((c for c in children if home.cell.path.startswith(c.path)), cell)
        row = rows.setdefault(owner.pk, Coverage(owner, 0, 0, []))
        row.households += 1
        if home.recent:
            row.visited += 1
        else:
            row.overdue.append(home)
    epoch = since - timedelta(days=36500)
    for row in rows.values():
        row.overdue.sort(key=lambda h: h.last_visit or epoch)
        row.overdue = row.overdue[:overdue_limit]
    return list(rows.values())
