"""Read side of community life: every staff read starts from the communities the user works in
with `MANAGE_COMMUNITY` (default deny; outside answers 404 like a missing row); public reads are
limited to what a wall or a landing page shows."""

from collections import Counter
from datetime import timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from wangge.accounts.permissions import Perm, active_assignments
from wangge.accounts.queries import communities_q
from wangge.cases.models import Case
from wangge.grids.models import GridCell, GridLevel
from wangge.lib.errors import NotFound
from wangge.participation.models import (
    PUBLIC_WISH_STATES,
    ItemKind,
    ItemState,
    ListItem,
    MicroWish,
    ServiceOrder,
)


def community_of(cell: GridCell) -> GridCell | None:
    """The community a cell lies in (itself when it is one); None above community level."""
    if cell.level == GridLevel.COMMUNITY:
        return cell
    if cell.level < GridLevel.COMMUNITY:
        return None
    codes = cell.path.strip("/").split("/")
    return GridCell.objects.filter(code__in=codes, level=GridLevel.COMMUNITY).first()


def _community_q(user, prefix: str = "community__") -> Q | None:
    """Communities the user works in: those under an assigned cell, and the one a grid worker's
    grid lies in (a grid worker serves the whole community's lists)."""
    return communities_q(user, Perm.MANAGE_COMMUNITY, prefix)


def managed_communities(user) -> QuerySet[GridCell]:
    scope = _community_q(user, prefix="")
    if scope is None:
        return GridCell.objects.none()
    return (
        GridCell.objects.filter(scope, level=GridLevel.COMMUNITY)
        .select_related("parent")
        .defer("geometry", "parent__geometry")
    )


def get_managed_community(user, ref: str | None) -> GridCell:
    """The asked-for community (by code) if the user manages it; else their first one."""
    communities = managed_communities(user).order_by("path")
    community = communities.filter(code=ref).first() if ref else communities.first()
    if community is None:
        raise NotFound()
    return community


def visible_items(user) -> QuerySet[ListItem]:
    scope = _community_q(user)
    if scope is None:
        return ListItem.objects.none()
    return ListItem.objects.filter(scope).select_related(
        "community", "category", "provider_unit", "provider_user"
    )


def get_item_for(user, item_id: int) -> ListItem:
    item = visible_items(user).filter(pk=item_id).first()
    if item is None:
        raise NotFound()
    return item


def offers_near(need: ListItem) -> QuerySet[ListItem]:
    """Open resources, projects and services of the need's township (its community first: the
    caller ranks). A match may cross into a neighbouring community of the same township."""
    township_path = need.community.path.rsplit("/", 2)[0] + "/"
    return (
        ListItem.objects.filter(
            community__path__startswith=township_path,
            kind__in=[ItemKind.RESOURCE, ItemKind.PROJECT, ItemKind.SERVICE],
            state__in=[ItemState.OPEN, ItemState.MATCHED],
        )
        .exclude(pk=need.pk)
        .select_related("community", "category__parent")
    )


def visible_orders(user) -> QuerySet[ServiceOrder]:
    """Orders of the user's communities, and those of services the user provides."""
    if not user or not user.is_authenticated:
        return ServiceOrder.objects.none()
    units = [a.unit_id for a in active_assignments(user) if a.unit_id]
    q = Q(service__provider_user=user) | Q(service__provider_unit__in=units)
    scope = _community_q(user, prefix="service__community__")
    if scope is not None:
        q |= scope
    return ServiceOrder.objects.filter(q).select_related("service__community", "taken_by")


def get_order_for(user, order_id: int) -> ServiceOrder:
    order = visible_orders(user).filter(pk=order_id).first()
    if order is None:
        raise NotFound()
    return order


def visible_wishes(user) -> QuerySet[MicroWish]:
    scope = _community_q(user)
    if scope is None:
        return MicroWish.objects.none()
    return MicroWish.objects.filter(scope).select_related("community", "claimant_unit")


def get_wish_for(user, wish_id: int) -> MicroWish:
    wish = visible_wishes(user).filter(pk=wish_id).first()
    if wish is None:
        raise NotFound()
    return wish


def recurring_case_groups(
    community: GridCell, *, days: int = 90, min_size: int = 3, now=None
) -> list[dict]:
    """A recurring class of cases: at least `min_size` cases of one category in one grid of the
    community within `days`, none yet linked to a need. Largest first."""
    since = (now or timezone.now()) - timedelta(days=days)
    rows = (
        Case.objects.filter(
            cell__path__startswith=community.path,
            reported_at__gte=since,
            category__isnull=False,
            master__isnull=True,
            participation_needs__isnull=True,
        )
        .values("cell_id", "cell__name", "cell__code", "category_id", "category__name")
        .annotate(n=Count("id"))
        .filter(n__gte=min_size)
        .order_by("-n", "cell__code", "category_id")
    )
    return [
        {
            "cell_id": r["cell_id"],
            "cell_name": r["cell__name"],
            "cell_code": r["cell__code"],
            "category_id": r["category_id"],
            "category_name": r["category__name"],
            "count": r["n"],
        }
        for r in rows[:20]
    ]


def cases_of_group(
    community: GridCell, *, cell_id: int, category_id: int, days: int = 90, now=None
):
    since = (now or timezone.now()) - timedelta(days=days)
    return Case.objects.filter(
        cell_id=cell_id,
        cell__path__startswith=community.path,
        category_id=category_id,
        reported_at__gte=since,
        master__isnull=True,
        participation_needs__isnull=True,
    ).order_by("reported_at", "pk")


# --- public reads -------------------------------------------------------------------------------


def communities_by_township() -> list[tuple[GridCell, list[GridCell]]]:
    """For the landing page: each township with its communities, in code order."""
    communities = list(
        GridCell.objects.filter(level=GridLevel.COMMUNITY)
        .select_related("parent")
        .defer("geometry", "parent__geometry")
        .order_by("path")
    )
    groups: dict[int, tuple[GridCell, list[GridCell]]] = {}
    for c in communities:
        groups.setdefault(c.parent_id, (c.parent, []))[1].append(c)
    return list(groups.values())


def public_community(code: str) -> GridCell:
    community = (
        GridCell.objects.filter(code=code, level=GridLevel.COMMUNITY)
        .select_related("parent")
        .defer("geometry", "parent__geometry")
        .first()
    )
    if community is None:
        raise NotFound()
    return community


def wall_wishes(community: GridCell) -> QuerySet[MicroWish]:
    return MicroWish.objects.filter(community=community, state__in=PUBLIC_WISH_STATES).order_by(
        "-created_at", "-id"
    )


def public_services(community: GridCell) -> QuerySet[ListItem]:
    return ListItem.objects.filter(
        community=community, kind=ItemKind.SERVICE, state__in=[ItemState.OPEN, ItemState.MATCHED]
    ).order_by("title", "id")


def wall_counts(community: GridCell) -> dict[str, int]:
    counts = Counter(wall_wishes(community).values_list("state", flat=True))
    return {state: counts.get(state, 0) for state in PUBLIC_WISH_STATES}
