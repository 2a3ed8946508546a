"""Cases the system raised before names were masked: "今日未报平安：张桂英" becomes
"今日未报平安：张**", and a device alarm's address in its title becomes the masked name of
the person it watches (the case keeps the address in its own field, for the staff who go)."""

from django.db import migrations

from wangge.lib.masking import mask_name


def _masked(text: str, replacements: list[tuple[str, str]]) -> str:
    for clear, masked in replacements:
        if clear:
            text = text.replace(clear, masked)
    return text


def mask_generated_titles(apps, schema_editor):
    Case = apps.get_model("cases", "Case")
    MissedCheckIn = apps.get_model("care", "MissedCheckIn")
    DeviceEvent = apps.get_model("care", "DeviceEvent")
    Resident = apps.get_model("people", "Resident")
    changed = {}
    for alert in MissedCheckIn.objects.filter(case__isnull=False).select_related(
        "case", "enrolment__resident"
    ):
        name = alert.enrolment.resident.name
        changed[alert.case.pk] = (alert.case, [(name, mask_name(name))])
    for event in DeviceEvent.objects.filter(case__isnull=False).select_related(
        "case", "device__household", "device__resident"
    ):
        device = event.device
        person = device.resident or (
            Resident.objects.filter(household=device.household, moved_out_at__isnull=True)
            .order_by("id")
            .first()
        )
        masked = mask_name(person.name) if person else ""
        pairs = [(device.household.address, masked)]
        if person:
            pairs.append((person.name, masked))
        changed.setdefault(event.case.pk, (event.case, []))[1].extend(pairs)
    for case, pairs in changed.values():
        title, description = _masked(case.title, pairs), _masked(case.description, pairs)
        title = title.rstrip("：: ") or case.title  # an alarm in a home nobody is registered in
        if (title, description) != (case.title, case.description):
            Case.objects.filter(pk=case.pk).update(title=title, description=description)


class Migration(migrations.Migration):
    dependencies = [
        ("care", "0001_initial"),
        ("cases", "0008_category_is_public_reporter_phone_index"),
        ("people", "0003_default_tags"),
    ]

    operations = [migrations.RunPython(mask_generated_titles, migrations.RunPython.noop)]
