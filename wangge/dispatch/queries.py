"""Read side for dispatch: routing records and the targets a dispatcher may pick."""

from django.utils.translation import gettext_lazy as _

from wangge.accounts.models import Unit, User
from wangge.accounts.permissions import Perm, has_perm
from wangge.cases.models import Case
from wangge.dispatch.models import DispatchRecommendation
from wangge.lib.errors import InvalidInput


def latest_recommendation(case: Case) -> DispatchRecommendation | None:
    return (
        DispatchRecommendation.objects.filter(case=case)
        .select_related("chosen_unit", "chosen_by")
        .order_by("-created_at", "-id")
        .first()
    )


def recommendations_for(case: Case) -> list[DispatchRecommendation]:
    return list(
        DispatchRecommendation.objects.filter(case=case)
        .select_related("chosen_unit", "chosen_by")
        .order_by("created_at", "id")
    )


def unit_for_dispatch(unit_id: int, *, field: str) -> Unit:
    """An active unit to dispatch to; an unknown id is a mistake in the form, not a 404."""
    unit = Unit.objects.filter(pk=unit_id, is_active=True).first()
    if unit is None:
        raise InvalidInput(fields={field: _("Unknown unit.")})
    return unit


def assignee_for_dispatch(user_id: int, *, field: str = "assignee_id") -> User:
    """An active person who may handle cases (a grid worker or a unit handler)."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not has_perm(user, Perm.HANDLE_CASE):
        raise InvalidInput(fields={field: _("This person cannot handle cases.")})
    return user
