"""Every change in care: enrolments and carers, check-ins, the climb of a missed check-in up the
chain of carers, visits, 助老 bookings, and what a home device's message does. Each is one
transaction with its audit or timeline record.

Alarms and missed check-ins become urgent cases through `intake_case` on the `sensor` channel,
in the 关爱服务 categories (1101 老人紧急呼叫, 1102 烟感报警, 1103 未按时报平安; grid-level, so the
rules send them to the grid worker on duty) with a clock in minutes, and the carers are told
through the outbox.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.audit.actions import record_audit
from wangge.care.models import (
    AlertState,
    Carer,
    CheckIn,
    CheckInSource,
    Device,
    DeviceEvent,
    DeviceKind,
    Enrolment,
    MissedCheckIn,
    ServiceBooking,
    ServiceState,
    Visit,
)
from wangge.cases.actions import add_event, notify
from wangge.cases.models import DONE_STATES, Case, Category, Channel, EventKind, Priority
from wangge.cases.queries import VISIT_KEY_PREFIX
from wangge.dispatch.actions import intake_case
from wangge.lib.errors import Conflict, InvalidInput
from wangge.lib.images import clean_image
from wangge.lib.masking import mask_name
from wangge.people.models import Household, Resident

EMERGENCY_CALL, SMOKE_ALARM, MISSED_CHECK_IN = "1101", "1102", "1103"


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _local(moment: datetime) -> datetime:
    return timezone.localtime(moment)


# --- 窗帘之约: enrolment, check-ins, the chain ----------------------------------------------------


@transaction.atomic
def enrol(resident: Resident, *, window_start, window_end, actor, carers: list[dict]) -> Enrolment:
    """Enrol a person for a daily check-in between two times, with the carers to ask in order
    when it does not come: dicts of kind, name, phone, user, wait_minutes."""
    if window_end <= window_start:
        raise InvalidInput(fields={"window_end": _("The window must end after it starts.")})
    if not carers:
        raise InvalidInput(fields={"carers": _("Name at least one carer.")})
    enrolment, _created = Enrolment.objects.update_or_create(
        resident=resident,
        defaults={"window_start": window_start, "window_end": window_end, "active": True},
    )
    enrolment.carers.all().delete()
    for position, carer in enumerate(carers, start=1):
        Carer.objects.create(enrolment=enrolment, position=position, **carer)
    record_audit(
        actor=actor,
        action="enrol_care",
        obj=enrolment,
        detail={"window": f"{window_start}-{window_end}", "carers": len(carers)},
    )
    return enrolment


def _today_window(enrolment: Enrolment, day: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(day, enrolment.window_start), tz)
    end = timezone.make_aware(datetime.combine(day, enrolment.window_end), tz)
    return start, end


@transaction.atomic
def record_check_in(
    enrolment: Enrolment, *, source: str, by=None, now: datetime | None = None
) -> CheckIn:
    """报平安: the person is well today. It also settles today's missed check-in, if any."""
    now = _now(now)
    day = _local(now).date()
    check_in = CheckIn.objects.create(enrolment=enrolment, day=day, at=now, source=source, by=by)
    alert = MissedCheckIn.objects.filter(
        enrolment=enrolment, day=day, state=AlertState.OPEN
    ).first()
    if alert is not None:
        _settle(alert, by=by, now=now)
    return check_in


@transaction.atomic
def confirm_well(alert: MissedCheckIn, *, by, now: datetime | None = None) -> MissedCheckIn:
    """A carer confirms the person is well: the climb stops."""
    if alert.state != AlertState.OPEN:
        raise Conflict(_("This alert is already settled."))
    now = _now(now)
    CheckIn.objects.create(
        enrolment=alert.enrolment, day=alert.day, at=now, source=CheckInSource.CARER, by=by
    )
    return _settle(alert, by=by, now=now)


def _settle(alert: MissedCheckIn, *, by, now: datetime) -> MissedCheckIn:
    alert.state, alert.closed_at, alert.confirmed_by = AlertState.WELL, now, by
    alert.next_step_at = None
    alert.save(update_fields=["state", "closed_at", "confirmed_by", "next_step_at"])
    return alert


@dataclass
class CareSweep:
    missed: int = 0
    escalated: int = 0
    cases: int = 0
    offline: int = 0


def sweep_care(*, now: datetime | None = None) -> CareSweep:
    """Run by the worker: windows that closed without a check-in open a missed check-in and ask
    the first carer; each carer who does not confirm in their minutes passes it to the next;
    after the last, an urgent case. Devices silent past their heartbeat are marked offline."""
    now = _now(now)
    result = CareSweep()
    day = _local(now).date()
    checked = set(CheckIn.objects.filter(day=day).values_list("enrolment_id", flat=True))
    alerted = set(MissedCheckIn.objects.filter(day=day).values_list("enrolment_id", flat=True))
    for enrolment in Enrolment.objects.filter(active=True).select_related("resident"):
        if enrolment.pk in checked or enrolment.pk in alerted:
            continue
        _, end = _today_window(enrolment, day)
        if now < end:
            continue
        try:
            with transaction.atomic():
                alert = MissedCheckIn.objects.create(
                    enrolment=enrolment, day=day, opened_at=now, next_step_at=now
                )
        except IntegrityError:
            continue  # another sweep opened it
        result.missed += 1
    for alert in MissedCheckIn.objects.filter(
        state=AlertState.OPEN, next_step_at__lte=now
    ).select_related("enrolment__resident__household__cell"):
        with transaction.atomic():
            alert = MissedCheckIn.objects.select_for_update().get(pk=alert.pk)
            if alert.state != AlertState.OPEN or alert.next_step_at > now:
                continue
            if _climb(alert, now=now):
                result.escalated += 1
            else:
                result.cases += 1
    result.offline = mark_offline_devices(now=now)
    return result


def _climb(alert: MissedCheckIn, *, now: datetime) -> bool:
    """Ask the next carer (True), or, past the last one, open the urgent case (False)."""
    carers = list(alert.enrolment.carers.order_by("position"))
    following = [c for c in carers if c.position > alert.asked_position]
    if following:
        carer = following[0]
        alert.asked_position = carer.position
        alert.next_step_at = now + timedelta(minutes=carer.wait_minutes)
        alert.save(update_fields=["asked_position", "next_step_at"])
        notify(
            "care_missed_check_in",
            user=carer.user,
            payload={
                "carer": carer.name,
                "position": carer.position,
                "resident": alert.enrolment.resident.name,
                "answer_by": alert.next_step_at.isoformat(),
            },
            now=now,
            dedupe_key=f"care-missed:{alert.pk}:{carer.position}",
        )
        return True
    resident = alert.enrolment.resident
    case = _urgent_case(
        household=resident.household,
        category=MISSED_CHECK_IN,
        title=_("No check-in today: %(name)s") % {"name": mask_name(resident.name)},
        description=_("Nobody confirmed %(name)s is well after %(n)s carer(s) were asked.")
        % {"name": mask_name(resident.name), "n": len(carers)},
        key=f"care-missed:{alert.pk}",
        priority=Priority.URGENT,
        now=now,
    )
    alert.state, alert.case, alert.next_step_at = AlertState.CASE, case, None
    alert.save(update_fields=["state", "case", "next_step_at"])
    return False


def _urgent_case(*, household: Household, category: str, title, description, key, priority, now):
    """A case the system raises about someone at home: its title and description name them
    masked (张**) and never hold the address; `address` is for the staff who go there."""
    case, _created = intake_case(
        channel=Channel.SENSOR,
        title=str(title)[:200],
        description=str(description),
        idempotency_key=key,
        cell=household.cell,
        address=f"{household.address} {household.door}",
        category=Category.objects.filter(code=category, is_active=True).first(),
        priority=priority,
        anonymous=True,
        actor=None,
        now=now,
    )
    return case


# --- 智能守护: device messages --------------------------------------------------------------------


ALARM_CATEGORY = {DeviceKind.BUTTON: EMERGENCY_CALL, DeviceKind.SMOKE: SMOKE_ALARM}


@dataclass
class Outcome:
    event: DeviceEvent | None
    duplicate: bool = False  # the same message again (MQTT redelivery)
    case: Case | None = None
    joined: bool = False  # a repeat alarm joined the open case
    check_in: CheckIn | None = None


def record_device_message(
    device: Device,
    *,
    message_id: str,
    kind: str,
    occurred_at: datetime,
    payload: dict,
    battery: int | None = None,
    now: datetime | None = None,
) -> Outcome:
    """What a device said. Recorded once per message id; last seen and battery kept; an alarm
    of a button or smoke alarm opens an urgent case on the household's grid, or joins the case
    an alarm of the same device opened within `WANGGE_DEVICE_DEDUP_MINUTES`; a door sensor's
    first opening inside its person's check-in window is that day's check-in."""
    now = _now(now)
    with transaction.atomic():
        device = Device.objects.select_for_update().get(pk=device.pk)
        try:
            with transaction.atomic():
                event = DeviceEvent.objects.create(
                    device=device,
                    kind=kind,
                    message_id=message_id,
                    occurred_at=occurred_at,
                    payload=payload,
                )
        except IntegrityError:
            return Outcome(event=None, duplicate=True)
        fields = []
        if device.last_seen_at is None or occurred_at > device.last_seen_at:
            device.last_seen_at, fields = occurred_at, [*fields, "last_seen_at"]
        if battery is not None:
            device.battery, fields = battery, [*fields, "battery"]
        if device.offline_since is not None:
            device.offline_since, fields = None, [*fields, "offline_since"]
        if fields:
            device.save(update_fields=fields)
        outcome = Outcome(event=event)
        if kind == "alarm" and device.kind in ALARM_CATEGORY:
            outcome.case, outcome.joined = _alarm_case(device, event, now=now)
            event.case = outcome.case
            event.save(update_fields=["case"])
        elif kind == "open" and device.kind == DeviceKind.DOOR:
            outcome.check_in = _door_check_in(device, occurred_at)
    return outcome


def _alarm_case(device: Device, event: DeviceEvent, *, now: datetime) -> tuple[Case, bool]:
    window = timedelta(minutes=settings.WANGGE_DEVICE_DEDUP_MINUTES)
    recent = (
        DeviceEvent.objects.filter(
            device=device,
            kind="alarm",
            case__isnull=False,
            occurred_at__gte=event.occurred_at - window,
        )
        .exclude(pk=event.pk)
        .exclude(case__state__in=DONE_STATES)
        .select_related("case")
        .order_by("-occurred_at")
        .first()
    )
    if recent is not None:
        add_event(
            recent.case,
            EventKind.NOTE,
            actor=None,
            now=now,
            data={"device": device.serial, "repeat_alarm": event.message_id},
            actor_name=str(device),
        )
        return recent.case, True
    household = device.household
    label = device.get_kind_display()
    case = _urgent_case(
        household=household,
        category=ALARM_CATEGORY[device.kind],
        title=_alarm_title(device, label),
        description=_("%(device)s %(serial)s went off at %(time)s.")
        % {"device": label, "serial": device.serial, "time": _local(event.occurred_at)},
        key=f"device:{device.serial}:{event.message_id}",
        priority=Priority.EMERGENCY,
        now=now,
    )
    # The carers of the people watched by the household's devices hear at once.
    for carer in Carer.objects.filter(
        enrolment__resident__household=household, enrolment__active=True
    ).select_related("enrolment__resident"):
        notify(
            "care_alarm",
            case=case,
            user=carer.user,
            payload={"carer": carer.name, "device": label, "tracking_code": case.tracking_code},
            now=now,
            dedupe_key=f"care-alarm:{case.pk}:{carer.pk}",
        )
    return case, False


def _alarm_title(device: Device, label: str) -> str:
    """The device and whom it watches, masked (张**); never the address, which the case keeps
    for the staff who go there."""
    person = (
        device.resident
        or device.household.residents.filter(moved_out_at__isnull=True).order_by("id").first()
    )
    if person is None:
        return str(label)
    return _("%(device)s: %(name)s") % {"device": label, "name": mask_name(person.name)}


def _door_check_in(device: Device, at: datetime) -> CheckIn | None:
    if device.resident_id is None:
        return None
    enrolment = Enrolment.objects.filter(resident_id=device.resident_id, active=True).first()
    if enrolment is None:
        return None
    day = _local(at).date()
    start, end = _today_window(enrolment, day)
    if not start <= at <= end or CheckIn.objects.filter(enrolment=enrolment, day=day).exists():
        return None
    return record_check_in(enrolment, source=CheckInSource.DOOR, now=at)


def mark_offline_devices(*, now: datetime | None = None) -> int:
    """A device silent for twice its heartbeat is offline: marked once and its grid worker
    told (through the outbox); its next message clears the mark."""
    now = _now(now)
    count = 0
    for device in Device.objects.filter(active=True, offline_since__isnull=True).select_related(
        "household__cell"
    ):
        seen = device.last_seen_at
        if seen is None or now - seen <= timedelta(seconds=2 * device.heartbeat_seconds):
            continue
        with transaction.atomic():
            updated = Device.objects.filter(pk=device.pk, offline_since__isnull=True).update(
                offline_since=now
            )
            if updated:
                count += 1
                notify(
                    "device_offline",
                    payload={
                        "device": device.serial,
                        "kind": device.kind,
                        "grid": device.household.cell.code,
                        "last_seen": seen.isoformat(),
                    },
                    now=now,
                    dedupe_key=f"device-offline:{device.pk}:{seen.isoformat()}",
                )
    return count


# --- 走访 visits and 助老 services ---------------------------------------------------------------


@transaction.atomic
def record_visit(
    household: Household,
    *,
    visitor,
    findings: str = "",
    photo=None,
    lon: float | None = None,
    lat: float | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> tuple[Visit, bool]:
    """走访: a visit to a household; a retry with the same key returns the first visit."""
    if idempotency_key and (seen := Visit.objects.filter(idempotency_key=idempotency_key).first()):
        return seen, False
    visit = Visit.objects.create(
        household=household,
        visitor=visitor,
        visited_at=_now(now),
        findings=(findings or "").strip(),
        photo=clean_image(photo, field="photo") if photo else "",  # no GPS of the home
        lon=lon,
        lat=lat,
        idempotency_key=idempotency_key or None,
    )
    # A visit to someone in care is also their check-in for the day.
    for enrolment in Enrolment.objects.filter(resident__household=household, active=True):
        record_check_in(enrolment, source=CheckInSource.VISIT, by=visitor, now=visit.visited_at)
    return visit, True


@transaction.atomic
def visit_to_case(visit: Visit, *, actor, title: str, category: Category | None = None) -> Case:
    """A finding that needs action becomes a case in one step, located at the household."""
    if visit.case_id:
        return visit.case
    title = (title or "").strip() or visit.findings[:60]
    if not title:
        raise InvalidInput(fields={"title": _("A title is required.")})
    household = visit.household
    case, _created = intake_case(
        channel=Channel.PATROL,
        title=title[:200],
        description=visit.findings,
        idempotency_key=f"{VISIT_KEY_PREFIX}{visit.pk}",
        cell=household.cell,
        lon=visit.lon,
        lat=visit.lat,
        address=f"{household.address} {household.door}",
        category=category,
        actor=actor,
    )
    visit.case = case
    visit.save(update_fields=["case"])
    return case


@transaction.atomic
def book_service(resident: Resident, *, kind: str, for_date: date, actor, note: str = ""):
    """助老: book a meal or a home service for a person."""
    return ServiceBooking.objects.create(
        resident=resident, kind=kind, for_date=for_date, note=note[:200], booked_by=actor
    )


@transaction.atomic
def complete_service(booking: ServiceBooking, *, actor, now: datetime | None = None):
    updated = ServiceBooking.objects.filter(pk=booking.pk, state=ServiceState.BOOKED).update(
        state=ServiceState.DONE, done_at=_now(now)
    )
    if not updated:
        raise Conflict(_("This booking is no longer open."))
    booking.refresh_from_db()
    record_audit(actor=actor, action="complete_service", obj=booking, detail={"kind": booking.kind})
    return booking
