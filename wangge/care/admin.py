"""Care in the admin: read-only records (changes go through the care actions and pages)."""

from django.contrib import admin

from wangge.audit.admin import ReadOnlyAdmin
from wangge.care.models import Device, DeviceEvent, Enrolment, MissedCheckIn, RejectedMessage


@admin.register(Enrolment)
class EnrolmentAdmin(ReadOnlyAdmin):
    list_display = ["resident", "window_start", "window_end", "active"]


@admin.register(MissedCheckIn)
class MissedCheckInAdmin(ReadOnlyAdmin):
    list_display = ["enrolment", "day", "state", "asked_position", "case"]
    list_filter = ["state"]


@admin.register(Device)
class DeviceAdmin(ReadOnlyAdmin):
    list_display = ["serial", "kind", "household", "last_seen_at", "battery", "offline_since"]
    list_filter = ["kind"]
    search_fields = ["serial"]


@admin.register(DeviceEvent)
class DeviceEventAdmin(ReadOnlyAdmin):
    list_display = ["device", "kind", "occurred_at", "case"]


@admin.register(RejectedMessage)
class RejectedMessageAdmin(ReadOnlyAdmin):
    """MQTT messages that failed validation, with the reason."""

    list_display = ["received_at", "topic", "reason"]
