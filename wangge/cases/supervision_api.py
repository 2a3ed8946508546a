"""督办 over JSON: the open orders a user must answer or watches (overdue first), the unit's
answer, and a supervisor's order on a unit as a whole.

Scope first, as for cases: an order is the caller's to answer when its unit is one of their
units or its case is in their scope to answer 督办; supervisors see the orders in their part of
the grid. Any other order answers 404, like a missing id; one they can see but not answer, 403.
"""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Status
from ninja.pagination import PageNumberPagination, paginate

from wangge.accounts.permissions import Perm, has_perm
from wangge.cases import actions
from wangge.cases.models import (
    SupervisionLevel,
    SupervisionState,
)
from wangge.cases.queries import (
    ORDER_RELATED,
    get_order_to_answer,
    supervisable_unit,
    visible_orders,
    with_overdue,
)
from wangge.cases.schemas import AnswerIn, SuperviseIn, SupervisionFilters, SupervisionOut
from wangge.lib.errors import InvalidInput, PermissionDenied

router = Router(tags=["supervision"])

# --- endpoints --------------------------------------------------------------------------------


@router.get("/supervisions", response=list[SupervisionOut])
@paginate(PageNumberPagination, page_size=50)
def list_supervisions(request, filters: Query[SupervisionFilters]):
    """督办 orders the caller answers or watches, open ones unless `state` says otherwise;
    overdue first, then by the time the answer is due."""
    user = request.auth
    if not (has_perm(user, Perm.ANSWER_SUPERVISION) or has_perm(user, Perm.SUPERVISE)):
        raise PermissionDenied()
    if filters.state not in SupervisionState.values:
        raise InvalidInput(fields={"state": _("Unknown state.")})
    qs = visible_orders(user).filter(state=filters.state).select_related(*ORDER_RELATED)
    return with_overdue(qs, now=timezone.now()).order_by("-overdue", "due_at", "id")


@router.post("/supervisions/{order_id}/answer", response=SupervisionOut)
def answer(request, order_id: int, payload: AnswerIn):
    """The unit's answer to a 督办 order; an order is answered once."""
    order = get_order_to_answer(request.auth, order_id)
    return actions.answer_supervision(order, answer=payload.answer, actor=request.auth)


@router.post("/units/{unit_id}/supervise", response={201: SupervisionOut})
def supervise_unit(request, unit_id: int, payload: SuperviseIn):
    """督办 on a unit as a whole (its overdue rate, say), answered by the unit."""
    unit = supervisable_unit(request.auth, unit_id)
    if payload.level not in SupervisionLevel.values:
        raise InvalidInput(fields={"level": _("Unknown supervision level.")})
    if payload.due_at <= timezone.now():
        raise InvalidInput(fields={"due_at": _("The deadline must be in the future.")})
    order = actions.supervise_unit(
        unit, level=payload.level, demand=payload.demand, due_at=payload.due_at, actor=request.auth
    )
    return Status(201, order)
