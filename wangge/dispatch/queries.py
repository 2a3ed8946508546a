"""Read side for dispatch: routing records and the targets a dispatcher may pick."""

from datetime import datetime

from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from wangge.accounts.models import Unit, User
from wangge.accounts.permissions import Perm, has_perm
from wangge.cases.models import Case, EventKind
from wangge.dispatch.models import ClassifierModel, DispatchRecommendation
from wangge.lib.errors import InvalidInput


def latest_recommendation(case: Case) -> DispatchRecommendation | None:
    return (
        DispatchRecommendation.objects.filter(case=case)
        .select_related("chosen_unit", "chosen_by")
        .order_by("-created_at", "-id")
        .first()
    )


GRID_WORKERS = _("Grid workers")


def active_model() -> ClassifierModel | None:
    """The classifier in use, without its (large) blob; None until one is trained."""
    return ClassifierModel.objects.filter(is_active=True).defer("blob").first()


def misroute_rates(start: datetime, end: datetime) -> dict[str, list[dict]]:
    """Share of the cases reported in [start, end) that the classifier dispatched alone and that
    later came back: 退单 or a second dispatch. Per category the model predicted and per unit
    it sent the case to (grid-worker dispatches are counted together, under None)."""
    rows = (
        DispatchRecommendation.objects.filter(
            auto=True,
            model__isnull=False,
            case__reported_at__gte=start,
            case__reported_at__lt=end,
        )
        .values("case_id", "candidates")
        .annotate(
            returns=Count("case__events", filter=Q(case__events__kind=EventKind.RETURN)),
            dispatches=Count("case__events", filter=Q(case__events__kind=EventKind.DISPATCH)),
        )
        .order_by("case_id")
    )
    by_category: dict = {}
    by_unit: dict = {}
    for row in rows:
        misrouted = row["returns"] > 0 or row["dispatches"] > 1
        top = row["candidates"][0]  # an automatic dispatch followed the top suggestion
        for table, key, name in (
            (by_category, top.get("category"), top.get("category_name")),
            (by_unit, top.get("unit"), top.get("name") if top.get("unit") else GRID_WORKERS),
        ):
            entry = table.setdefault(
                key, {"key": key, "name": name or "", "cases": 0, "misrouted": 0}
            )
            entry["cases"] += 1
            entry["misrouted"] += misrouted
    for table in (by_category, by_unit):
        for entry in table.values():
            entry["rate"] = entry["misrouted"] / entry["cases"]

    def ordered(table):
        return sorted(table.values(), key=lambda e: (-e["rate"], -e["cases"], str(e["key"])))

    return {"categories": ordered(by_category), "units": ordered(by_unit)}


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
