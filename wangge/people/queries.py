"""Read side for the registry: every read starts from the grid subtrees the user holds with the
permission (default deny); a household or resident outside them answers 404 like a missing one."""

from django.db.models import QuerySet

from wangge.accounts.permissions import Perm, active_assignments
from wangge.accounts.queries import cells_q
from wangge.lib.errors import NotFound
from wangge.people.models import Household, Resident


def visible_households(user, perm: Perm = Perm.VIEW_RESIDENTS) -> QuerySet[Household]:
    scope = cells_q(user, perm, "cell__")
    return Household.objects.filter(scope) if scope is not None else Household.objects.none()


def visible_residents(user, perm: Perm = Perm.VIEW_RESIDENTS) -> QuerySet[Resident]:
    scope = cells_q(user, perm, "household__cell__")
    if scope is None:
        return Resident.objects.none()
    return Resident.objects.filter(scope).select_related("household__cell")


def get_resident_for(user, resident_id: int, perm: Perm = Perm.VIEW_RESIDENTS) -> Resident:
    resident = visible_residents(user, perm).filter(pk=resident_id).first()
    if resident is None:
        raise NotFound()
    return resident


def shown_tags(user, resident: Resident) -> list:
    """The resident's tags; a sensitive one (重点人员) only for those who may reveal personal
    data about them."""
    tags = list(resident.tags.all())
    if (
        any(t.sensitive for t in tags)
        and not visible_residents(user, Perm.REVEAL_PERSONAL_DATA).filter(pk=resident.pk).exists()
    ):
        tags = [t for t in tags if not t.sensitive]
    return tags


def may_reveal(user, resident: Resident) -> bool:
    """Whether the user may reveal this resident's personal data (and so see the birth date
    beside the masked ID number; everyone else sees the age). Decided from the user's
    assignments in memory: a list asks it of every row without a query each."""
    path = resident.household.cell.path
    return any(
        a.cell is not None and path.startswith(a.cell.path)
        for a in active_assignments(user, Perm.REVEAL_PERSONAL_DATA)
    )
