"""未诉先办 over JSON: the hot problems of a grid subtree, and turning one into a coordinated case.

GET /api/v1/hotspots ranks clusters of similar cases by heat; POST /api/v1/hotspots/case raises
one case for a cluster and links its members to it (解决一类事).
"""

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Field, Router, Schema, Status

from wangge.accounts.permissions import Perm
from wangge.accounts.queries import grid_in_scope
from wangge.cases.queries import get_case_for
from wangge.dispatch.actions import open_hotspot_case
from wangge.dispatch.hotspots import hotspots_for_cases
from wangge.lib.errors import InvalidInput

router = Router(tags=["hotspots"])


class HotspotOut(Schema):
    key: str
    size: int
    distinct_reporters: int
    likes: int
    growth: float
    spread: int
    heat: float
    category: str | None
    member_ids: list[int]
    representative_ids: list[int]
    representative_texts: list[str]
    top_terms: list[str]


class HotspotCaseIn(Schema):
    case_ids: list[int] = Field(..., min_length=2)
    title: str = Field(..., min_length=1, max_length=200)


class HotspotCaseOut(Schema):
    id: int
    tracking_code: str
    state: str
    cell: str
    linked: list[int]


@router.get("", response=list[HotspotOut])
def hotspots(request, grid: str | None = None, days: int = 30, top: int = 20):
    """Hot problems among the cases of a grid subtree over the last `days`, hottest first."""
    if not 1 <= days <= 366 or not 1 <= top <= 200:
        raise InvalidInput(fields={"days": _("Choose 1 to 366 days and 1 to 200 hotspots.")})
    cell = grid_in_scope(request.auth, Perm.VIEW_CASE, grid)
    now = timezone.now()
    found = hotspots_for_cases(cell=cell, start=now - timedelta(days=days), end=now)
    return [h.as_dict() for h in found[:top]]


@router.post("/case", response={201: HotspotCaseOut})
def hotspot_case(request, payload: HotspotCaseIn):
    """Raise one coordinated case for a hotspot; its cases become repeats of it."""
    user = request.auth
    cases = [get_case_for(user, pk, Perm.DISPATCH_CASE) for pk in dict.fromkeys(payload.case_ids)]
    master = open_hotspot_case(cases, title=payload.title.strip(), actor=user)
    return Status(
        201,
        {
            "id": master.pk,
            "tracking_code": master.tracking_code,
            "state": master.state,
            "cell": master.cell.code,
            "linked": [c.pk for c in cases],
        },
    )
