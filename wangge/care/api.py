"""Care over JSON (/api/v1/care/…): missed check-ins and the carers' answers, check-ins, visits
and what they found, coverage of visits, 助老 bookings and the devices' state. Scoped to the
caller's grid subtrees; outside them an object answers 404 like a missing one."""

from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Field, Header, Query, Router, Schema, Status

from wangge.accounts.models import User
from wangge.accounts.permissions import Perm, has_perm
from wangge.accounts.queries import grid_in_scope
from wangge.care import actions
from wangge.care.models import CarerKind, CheckInSource, ServiceBooking, ServiceKind
from wangge.care.queries import (
    get_or_404,
    visible_alerts,
    visible_devices,
    visible_enrolments,
    visible_visits,
    visit_coverage,
)
from wangge.cases.models import Category
from wangge.lib.errors import InvalidInput, PermissionDenied
from wangge.people.queries import visible_households, visible_residents

router = Router(tags=["care"])


def _require(user, perm: Perm) -> None:
    if not has_perm(user, perm):
        raise PermissionDenied()


class AlertOut(Schema):
    id: int
    day: date
    state: str
    resident: str
    household: str
    grid: str
    asked_position: int
    next_step_at: datetime | None
    case_id: int | None

    @staticmethod
    def resolve_resident(obj) -> str:
        return obj.enrolment.resident.name

    @staticmethod
    def resolve_household(obj) -> str:
        return str(obj.enrolment.resident.household)

    @staticmethod
    def resolve_grid(obj) -> str:
        return obj.enrolment.resident.household.cell.code


class AlertFilters(Schema):
    state: str | None = Field(None, description="open, well or case")


@router.get("/alerts", response=list[AlertOut])
def list_alerts(request, filters: Query[AlertFilters]):
    """窗帘之约: today's and earlier missed check-ins, open ones first."""
    _require(request.auth, Perm.VIEW_RESIDENTS)
    alerts = visible_alerts(request.auth)
    if filters.state:
        alerts = alerts.filter(state=filters.state)
    return list(alerts.order_by("-day", "state", "id")[:200])


@router.post("/alerts/{alert_id}/well", response=AlertOut)
def confirm_well(request, alert_id: int):
    """A carer has seen the person is well: the chain stops here."""
    _require(request.auth, Perm.MANAGE_RESIDENTS)
    alert = get_or_404(visible_alerts(request.auth, Perm.MANAGE_RESIDENTS), alert_id)
    return actions.confirm_well(alert, by=request.auth)


class CheckInOut(Schema):
    id: int
    day: date
    at: datetime
    source: str


@router.post("/enrolments/{enrolment_id}/check-ins", response={201: CheckInOut})
def check_in(request, enrolment_id: int):
    """报平安 by a carer's tap."""
    _require(request.auth, Perm.MANAGE_RESIDENTS)
    enrolment = get_or_404(visible_enrolments(request.auth, Perm.MANAGE_RESIDENTS), enrolment_id)
    return Status(
        201, actions.record_check_in(enrolment, source=CheckInSource.CARER, by=request.auth)
    )


class VisitIn(Schema):
    household_id: int
    findings: str = Field("", max_length=2000)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)


class VisitOut(Schema):
    id: int
    household_id: int
    visited_at: datetime
    findings: str
    case_id: int | None


@router.post("/visits", response={200: VisitOut, 201: VisitOut})
def record_visit(
    request,
    payload: VisitIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=100),
):
    """走访: a visit to a household of the caller's grid; a retry with the same key answers 200."""
    _require(request.auth, Perm.MANAGE_RESIDENTS)
    household = get_or_404(
        visible_households(request.auth, Perm.MANAGE_RESIDENTS), payload.household_id
    )
    visit, created = actions.record_visit(
        household,
        visitor=request.auth,
        findings=payload.findings,
        lon=payload.lon,
        lat=payload.lat,
        idempotency_key=idempotency_key,
    )
    return Status(201 if created else 200, visit)


class VisitCaseIn(Schema):
    title: str = Field("", max_length=200)
    category: str | None = None


@router.post("/visits/{visit_id}/case", response=VisitOut)
def visit_to_case(request, visit_id: int, payload: VisitCaseIn):
    """A visit's finding becomes a case in one step."""
    _require(request.auth, Perm.REPORT_CASE)
    visit = get_or_404(visible_visits(request.auth, Perm.MANAGE_RESIDENTS), visit_id)
    category = None
    if payload.category:
        category = Category.objects.filter(code=payload.category, is_active=True).first()
        if category is None:
            raise InvalidInput(fields={"category": _("Unknown category.")})
    actions.visit_to_case(visit, actor=request.auth, title=payload.title, category=category)
    return visit


class CoverageRow(Schema):
    grid: str
    name: str
    households: int
    visited: int
    share: float | None
    overdue: list[str]


class CoverageFilters(Schema):
    grid: str | None = None
    days: int = Field(30, ge=1, le=366)


@router.get("/coverage", response=list[CoverageRow])
def coverage(request, filters: Query[CoverageFilters]):
    """走访覆盖: per grid under the chosen one, households visited in the last `days` days and
    the ones overdue (longest unvisited first)."""
    cell = grid_in_scope(request.auth, Perm.VIEW_RESIDENTS, filters.grid)
    now = timezone.now()
    rows = visit_coverage(cell, since=now - timedelta(days=filters.days), now=now)
    return [
        {
            "grid": r.cell.code,
            "name": r.cell.name,
            "households": r.households,
            "visited": r.visited,
            "share": r.share,
            "overdue": [str(h) for h in r.overdue],
        }
        for r in rows
    ]


class BookingIn(Schema):
    resident_id: int
    kind: str = Field(..., description=", ".join(ServiceKind.values))
    for_date: date
    note: str = Field("", max_length=200)


class BookingOut(Schema):
    id: int
    resident_id: int
    kind: str
    for_date: date
    state: str
    done_at: datetime | None


@router.post("/services", response={201: BookingOut})
def book_service(request, payload: BookingIn):
    """助老: book a meal or a home service."""
    _require(request.auth, Perm.MANAGE_RESIDENTS)
    resident = get_or_404(
        visible_residents(request.auth, Perm.MANAGE_RESIDENTS), payload.resident_id
    )
    if payload.kind not in ServiceKind.values:
        raise InvalidInput(fields={"kind": _("Unknown service.")})
    return Status(
        201,
        actions.book_service(
            resident,
            kind=payload.kind,
            for_date=payload.for_date,
            actor=request.auth,
            note=payload.note,
        ),
    )


@router.post("/services/{booking_id}/done", response=BookingOut)
def service_done(request, booking_id: int):
    """The meal was delivered, the visit made: recorded once."""
    _require(request.auth, Perm.MANAGE_RESIDENTS)
    residents = visible_residents(request.auth, Perm.MANAGE_RESIDENTS)
    booking = get_or_404(ServiceBooking.objects.filter(resident__in=residents), booking_id)
    return actions.complete_service(booking, actor=request.auth)


class CarerIn(Schema):
    kind: str = Field(..., description="family, neighbour, grid_worker or community")
    name: str = Field(..., max_length=50)
    phone: str = Field("", max_length=20)
    user_id: int | None = None
    wait_minutes: int = Field(30, ge=1, le=24 * 60)


class EnrolIn(Schema):
    resident_id: int
    window_start: time
    window_end: time
    carers: list[CarerIn] = Field(..., min_length=1, max_length=10)


class EnrolmentOut(Schema):
    id: int
    resident_id: int
    window_start: time
    window_end: time
    active: bool


@router.post("/enrolments", response={201: EnrolmentOut})
def enrol(request, payload: EnrolIn):
    """窗帘之约: a person checked on every day in a window, with the carers to ask in order."""
    _require(request.auth, Perm.MANAGE_RESIDENTS)
    resident = get_or_404(
        visible_residents(request.auth, Perm.MANAGE_RESIDENTS), payload.resident_id
    )
    carers = []
    for carer in payload.carers:
        if carer.kind not in CarerKind.values:
            raise InvalidInput(fields={"carers": _("Unknown kind of carer.")})
        user = (
            User.objects.filter(pk=carer.user_id, is_active=True).first() if carer.user_id else None
        )
        carers.append({"kind": carer.kind, "name": carer.name, "phone": carer.phone,
                       "user": user, "wait_minutes": carer.wait_minutes})  # fmt: skip
    enrolment = actions.enrol(
        resident,
        window_start=payload.window_start,
        window_end=payload.window_end,
        actor=request.auth,
        carers=carers,
    )
    return Status(201, enrolment)


class DeviceOut(Schema):
    serial: str
    kind: str
    grid: str
    household: str
    last_seen_at: datetime | None
    battery: int | None
    offline_since: datetime | None

    @staticmethod
    def resolve_grid(obj) -> str:
        return obj.household.cell.code

    @staticmethod
    def resolve_household(obj) -> str:
        return str(obj.household)


@router.get("/devices", response=list[DeviceOut])
def list_devices(request):
    """智能守护: the devices of the caller's grids, offline ones first."""
    _require(request.auth, Perm.VIEW_RESIDENTS)
    devices = visible_devices(request.auth).filter(active=True)
    return list(devices.order_by("offline_since", "serial")[:500])
