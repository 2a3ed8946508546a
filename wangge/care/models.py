"""Care for the people who need it: 窗帘之约 daily check-ins with a chain of carers, 走访 visits
to households, 助老 services, and the home devices (智能守护: emergency button, door sensor, smoke
alarm) that report over MQTT.

Times are facts; whether a check-in window was missed, or a device is offline, is computed from
them by the sweep (`actions.sweep_care`), like deadline colours.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from wangge.lib.crypto import EncryptedTextField


class Enrolment(models.Model):
    """窗帘之约: a person is checked on every day between `window_start` and `window_end`."""

    resident = models.OneToOneField(
        "people.Resident", on_delete=models.PROTECT, related_name="care", verbose_name=_("resident")
    )
    window_start = models.TimeField(_("check-in from"))
    window_end = models.TimeField(_("check-in by"))
    active = models.BooleanField(_("active"), default=True)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("care enrolment")
        verbose_name_plural = _("care enrolments")

    def __str__(self):
        return str(self.resident)


class CarerKind(models.TextChoices):
    FAMILY = "family", _("Family")
    NEIGHBOUR = "neighbour", _("Neighbour or volunteer")
    GRID_WORKER = "grid_worker", _("Grid worker")
    COMMUNITY = "community", _("Community")


class Carer(models.Model):
    """One link of the chain: asked in `position` order, each given `wait_minutes` to confirm
    the person is well before the next is asked."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="carers")
    position = models.PositiveSmallIntegerField(_("order"))
    kind = models.CharField(_("kind"), max_length=20, choices=CarerKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    name = models.CharField(_("name"), max_length=50)
    phone = EncryptedTextField(_("phone"), blank=True)
    wait_minutes = models.PositiveIntegerField(_("minutes to answer"), default=30)

    class Meta:
        verbose_name = _("carer")
        verbose_name_plural = _("carers")
        ordering = ["enrolment", "position"]
        constraints = [
            models.UniqueConstraint(fields=["enrolment", "position"], name="carer_unique_position")
        ]

    def __str__(self):
        return f"{self.position}. {self.name}"


class CheckInSource(models.TextChoices):
    CARER = "carer", _("A carer's tap")
    BUTTON = "button", _("The person's button")
    DOOR = "door", _("The door sensor's first opening")
    VISIT = "visit", _("A visit")


class CheckIn(models.Model):
    """A sign that the person is well today."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="check_ins")
    day = models.DateField(db_index=True)
    at = models.DateTimeField()
    source = models.CharField(max_length=10, choices=CheckInSource.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        ordering = ["-at"]


class AlertState(models.TextChoices):
    OPEN = "open", _("Waiting for a carer")
    WELL = "well", _("Confirmed well")
    CASE = "case", _("Urgent case opened")


class MissedCheckIn(models.Model):
    """A window that passed without a check-in, climbing the chain of carers until somebody
    confirms the person is well; past the last carer it becomes an urgent case."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="alerts")
    day = models.DateField()
    state = models.CharField(max_length=10, choices=AlertState.choices, default=AlertState.OPEN)
    # The carer asked now (position), and when the next one is asked.
    asked_position = models.PositiveSmallIntegerField(default=0)
    next_step_at = models.DateTimeField(null=True, blank=True, db_index=True)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    case = models.ForeignKey(
        "cases.Case", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("missed check-in")
        verbose_name_plural = _("missed check-ins")
        constraints = [
            models.UniqueConstraint(fields=["enrolment", "day"], name="missed_once_a_day")
        ]


class Visit(models.Model):
    """走访: a grid worker's visit to a household, with what was found."""

    household = models.ForeignKey(
        "people.Household", on_delete=models.PROTECT, related_name="visits"
    )
    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    visited_at = models.DateTimeField(db_index=True)
    findings = models.TextField(_("findings"), blank=True)
    photo = models.FileField(upload_to="visits/%Y/%m/", blank=True)
    lon = models.FloatField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    # A finding that needs action becomes a case in one step.
    case = models.ForeignKey(
        "cases.Case", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-visited_at"]


class ServiceKind(models.TextChoices):
    MEAL = "meal", _("Meal from the elderly canteen (助老小灶)")
    HOME_VISIT = "home_visit", _("Home visit")
    CLEANING = "cleaning", _("Cleaning")
    ESCORT = "escort", _("Escort to a doctor")


class ServiceState(models.TextChoices):
    BOOKED = "booked", _("Booked")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class ServiceBooking(models.Model):
    """助老服务: a meal order or a home service booked for a person and recorded when done."""

    resident = models.ForeignKey(
        "people.Resident", on_delete=models.PROTECT, related_name="services"
    )
    kind = models.CharField(_("service"), max_length=20, choices=ServiceKind.choices)
    for_date = models.DateField(_("for"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    state = models.CharField(max_length=10, choices=ServiceState.choices, default="booked")
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    booked_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("service booking")
        verbose_name_plural = _("service bookings")
        ordering = ["for_date", "id"]


# --- 智能守护: home devices ---------------------------------------------------------------------


class DeviceKind(models.TextChoices):
    BUTTON = "button", _("Emergency button")
    DOOR = "door", _("Door sensor")
    SMOKE = "smoke", _("Smoke alarm")


class Device(models.Model):
    """A device installed in a household; it reports on `wangge/devices/<serial>/events`."""

    serial = models.CharField(_("serial number"), max_length=64, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=DeviceKind.choices)
    household = models.ForeignKey(
        "people.Household", on_delete=models.PROTECT, related_name="devices"
    )
    # Whose wellbeing it watches (the door sensor of a person living alone).
    resident = models.ForeignKey(
        "people.Resident", on_delete=models.SET_NULL, null=True, blank=True, related_name="devices"
    )
    heartbeat_seconds = models.PositiveIntegerField(_("heartbeat every (s)"), default=3600)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    battery = models.PositiveSmallIntegerField(null=True, blank=True)  # percent
    # Set by the sweep when silent past its heartbeat (with a margin), cleared by any message.
    offline_since = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")

    def __str__(self):
        return f"{self.get_kind_display()} {self.serial}"


class DeviceEvent(models.Model):
    """A message from a device, as received (kept whole, for the record)."""

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20)  # alarm, open, heartbeat, battery, …
    # The device's own message id: a redelivered message (MQTT QoS 1) is recorded once.
    message_id = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    payload = models.JSONField(default=dict)
    case = models.ForeignKey(
        "cases.Case", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("device event")
        verbose_name_plural = _("device events")
        ordering = ["-occurred_at"]
        constraints = [
            models.UniqueConstraint(fields=["device", "message_id"], name="device_message_once")
        ]
        indexes = [models.Index(fields=["device", "kind", "occurred_at"], name="devevent_kind_idx")]


class RejectedMessage(models.Model):
    """An MQTT message that failed validation: logged and counted, never fatal."""

    topic = models.CharField(max_length=200)
    payload = models.TextField()
    reason = models.CharField(max_length=300)
    received_at = models.DateTimeField(auto_now_add=True)
