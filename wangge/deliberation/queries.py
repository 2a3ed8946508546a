"""Read side: staff reads start from the villages the user may manage (default deny; a village
outside answers 404 like a missing one); public reads show published things only, without
personal data.

A village is manageable with `Perm.MANAGE_COMMUNITY` when it lies in one of the user's grid
subtrees (a secretary's village, a township or the county for admins) or when one of those
subtrees lies inside it (a grid worker keeps the records of the village their grid belongs to).
"""

from django.db.models import Prefetch, Q, QuerySet

from wangge.accounts.permissions import Perm, has_perm
from wangge.accounts.queries import communities_q
from wangge.deliberation.models import CourtyardMeeting, DisclosureItem, Matter, Step
from wangge.grids.models import GridCell, GridLevel
from wangge.lib.errors import NotFound, PermissionDenied


def manageable_villages(user) -> QuerySet[GridCell]:
    scope = communities_q(user, Perm.MANAGE_COMMUNITY)
    if scope is None:
        return GridCell.objects.none()
    return GridCell.objects.filter(scope, level=GridLevel.COMMUNITY).defer("geometry")


def require_manage(user) -> None:
    if not has_perm(user, Perm.MANAGE_COMMUNITY):
        raise PermissionDenied()


def get_village_for(user, code: str) -> GridCell:
    require_manage(user)
    village = manageable_villages(user).filter(code=code).first()
    if village is None:
        raise NotFound()
    return village


def visible_matters(user) -> QuerySet[Matter]:
    return Matter.objects.filter(village__in=manageable_villages(user)).select_related("village")


def get_matter_for(user, matter_id: int) -> Matter:
    require_manage(user)
    matter = (
        visible_matters(user)
        .prefetch_related(Prefetch("steps", Step.objects.prefetch_related("attachments")))
        .filter(pk=matter_id)
        .first()
    )
    if matter is None:
        raise NotFound()
    return matter


def visible_meetings(user) -> QuerySet[CourtyardMeeting]:
    villages = list(manageable_villages(user).values_list("path", flat=True))
    if not villages:
        return CourtyardMeeting.objects.none()
    scope = Q()
    for path in villages:
        scope |= Q(cell__path__startswith=path)
    return CourtyardMeeting.objects.filter(scope).select_related("cell", "case")


def get_meeting_for(user, meeting_id: int) -> CourtyardMeeting:
    require_manage(user)
    meeting = visible_meetings(user).filter(pk=meeting_id).first()
    if meeting is None:
        raise NotFound()
    return meeting


def visible_disclosures(user) -> QuerySet[DisclosureItem]:
    return DisclosureItem.objects.filter(village__in=manageable_villages(user)).select_related(
        "village"
    )


def get_disclosure_for(user, item_id: int) -> DisclosureItem:
    require_manage(user)
    item = visible_disclosures(user).prefetch_related("lines").filter(pk=item_id).first()
    if item is None:
        raise NotFound()
    return item


# --- public -----------------------------------------------------------------------------------


def public_village(code: str) -> GridCell:
    village = (
        GridCell.objects.filter(code=code, level=GridLevel.COMMUNITY).defer("geometry").first()
    )
    if village is None:
        raise NotFound()
    return village


def public_matters(village: GridCell) -> list[Matter]:
    """Matters of the village with their recorded steps (counts, dates, public texts)."""
    return list(
        Matter.objects.filter(village=village)
        .exclude(state="new")
        .prefetch_related(Prefetch("steps", Step.objects.order_by("recorded_at", "id")))
        .order_by("-created_at", "-id")
    )


def published_items(village: GridCell) -> QuerySet[DisclosureItem]:
    return (
        DisclosureItem.objects.filter(village=village, published_at__isnull=False)
        .select_related("supersedes", "superseded_by")
        .prefetch_related("lines")
    )


def is_superseded(item: DisclosureItem) -> bool:
    corrector = getattr(item, "superseded_by", None)
    return corrector is not None and corrector.published_at is not None


def board_items(village: GridCell) -> list[DisclosureItem]:
    """The board: for each type, the current items of its latest published period."""
    items = [i for i in published_items(village) if not is_superseded(i)]
    latest: dict[str, str] = {}
    for i in items:
        latest[i.kind] = max(latest.get(i.kind, ""), i.period)
    return [i for i in items if i.period == latest[i.kind]]


def archive_periods(village: GridCell) -> list[dict]:
    periods: dict[str, int] = {}
    for period in published_items(village).values_list("period", flat=True):
        periods[period] = periods.get(period, 0) + 1
    return [{"period": p, "count": n} for p, n in sorted(periods.items(), reverse=True)]


def period_items(village: GridCell, period: str) -> list[DisclosureItem]:
    return list(published_items(village).filter(period=period))
