"""智能分派 v0: routing by rules, no classifier. Every suggestion is kept as a
`DispatchRecommendation` with its candidates and reasons, and the dispatcher's final choice is
written onto it, so each dispatch can be explained and later routers can be measured against it.

Rules:
1. A grid-level category (小事不出网格) goes to the on-duty grid worker of the located grid
   (deputies after the worker); with nobody on duty, the township office is suggested.
2. Any other category goes to the unit that owns it, or the nearest owning ancestor category.
3. No category: no suggestion; the case waits for a dispatcher.
Only rule 1 with a worker on duty and rule 2 with an owner are certain enough to dispatch alone.
"""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from wangge.accounts.models import Unit, UnitKind, User
from wangge.accounts.queries import on_duty_grid_workers
from wangge.cases.actions import dispatch_case
from wangge.cases.models import Case, CaseState
from wangge.dispatch.models import DispatchRecommendation
from wangge.dispatch.queries import latest_recommendation
from wangge.grids.models import GridLevel
from wangge.lib.errors import Conflict

ROUTER = "rules-v0"


def _township_office(case: Case) -> Unit | None:
    township = next(
        (c for c in [*case.cell.ancestors(), case.cell] if c.level == GridLevel.TOWNSHIP), None
    )
    if township is None:
        return None
    return Unit.objects.filter(cell=township, kind=UnitKind.TOWNSHIP_OFFICE, is_active=True).first()


def _candidates(case: Case) -> list[dict]:
    category = case.category
    if category is None:
        return []
    if category.grid_level:
        workers = on_duty_grid_workers(case.cell)
        rows = [
            {
                "rule": "grid_worker",
                "unit": None,
                "assignee": worker.pk,
                "name": str(worker),
                "score": 1.0 if rank == 0 else 0.5,
                "certain": rank == 0,
                "why": _(
                    "“%(category)s” is handled at grid level: on-duty grid worker of %(cell)s."
                )
                % {"category": category.name, "cell": case.cell.name},
            }
            for rank, worker in enumerate(workers)
        ]
        office = _township_office(case)
        if not rows and office is not None:
            rows.append(
                {
                    "rule": "township_office",
                    "unit": office.pk,
                    "assignee": None,
                    "name": office.name,
                    "score": 0.5,
                    "certain": False,
                    "why": _("No grid worker is on duty here; the township office may take it."),
                }
            )
        return rows
    for node in category.lineage():
        if node.owner_id is not None and node.owner.is_active:
            via = "" if node == category else node.name
            why = (
                _("“%(category)s” is owned by %(unit)s (through “%(parent)s”).")
                if via
                else _("“%(category)s” is owned by %(unit)s.")
            )
            return [
                {
                    "rule": "category_owner",
                    "unit": node.owner_id,
                    "assignee": None,
                    "name": node.owner.name,
                    "score": 1.0,
                    "certain": True,
                    "why": why
                    % {"category": category.name, "unit": node.owner.name, "parent": via},
                }
            ]
    return []


def _route(case: Case) -> list[dict]:
    # Reasons are stored once, in the deployment's language, whoever's request made them.
    with translation.override(settings.LANGUAGE_CODE):
        return _candidates(case)


@transaction.atomic
def route_case(case: Case) -> DispatchRecommendation:
    """智能分派: suggest where the case should go, and keep the suggestion with its reasons."""
    return DispatchRecommendation.objects.create(case=case, router=ROUTER, candidates=_route(case))


@transaction.atomic
def record_choice(
    case: Case, *, unit: Unit | None, actor: User, recommendation=None
) -> DispatchRecommendation:
    """Write the final dispatch choice onto the latest recommendation (routing first if none)."""
    rec = recommendation or latest_recommendation(case) or route_case(case)
    rec.chosen_unit = unit
    rec.chosen_by = actor if actor and actor.pk else None
    rec.save(update_fields=["chosen_unit", "chosen_by"])
    return rec


def _owner_unit(case: Case, unit_id: int) -> Unit:
    # The owner was loaded with the category chain; avoid reading it again.
    for node in case.category.lineage() if case.category else []:
        if node.owner_id == unit_id:
            return node.owner
    return Unit.objects.get(pk=unit_id)


def auto_dispatch(case: Case, *, actor: User, now: datetime | None = None) -> Case:
    """Route the case and dispatch it at once when the rule is certain; otherwise leave it
    待受理 for a dispatcher, the suggestion waiting beside it. The suggestion is written once,
    with the choice on it."""
    candidates = _route(case)
    top = next((c for c in candidates if c.get("certain")), None)
    if top is None or case.state != CaseState.NEW:
        case.recommendation = DispatchRecommendation.objects.create(
            case=case, router=ROUTER, candidates=candidates
        )
        return case
    unit = _owner_unit(case, top["unit"]) if top["unit"] else None
    assignee = User.objects.get(pk=top["assignee"]) if top["assignee"] else None
    try:
        with transaction.atomic():
            case = dispatch_case(case, actor=actor, unit=unit, assignee=assignee, now=now)
            chosen = {"chosen_unit": unit, "chosen_by": actor if actor and actor.pk else None}
    except Conflict:
        # A dispatcher acted first; their choice stands and the suggestion stays on record.
        case.refresh_from_db()
        chosen = {}
    case.recommendation = DispatchRecommendation.objects.create(
        case=case, router=ROUTER, candidates=candidates, **chosen
    )
    return case


@transaction.atomic
def dispatch_by_dispatcher(
    case: Case,
    *,
    actor: User,
    unit: Unit | None = None,
    assignee: User | None = None,
    helpers: list[Unit] | None = None,
    due_at: datetime | None = None,
    note: str = "",
    now: datetime | None = None,
) -> Case:
    """派单 by hand (主办 with 协办 helpers, or a grid worker), recording the choice beside the
    rules' suggestion."""
    case = dispatch_case(
        case,
        actor=actor,
        unit=unit,
        assignee=assignee,
        helpers=helpers,
        due_at=due_at,
        note=note,
        now=now,
    )
    record_choice(case, unit=unit, actor=actor)
    return case
