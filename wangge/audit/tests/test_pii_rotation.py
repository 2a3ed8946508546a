"""Key rotation: values written under the old key still read while both keys are configured;
`wangge pii rotate` rewrites them (and the keyed hashes) so the old key can go; a value that
opens with no configured key stops the rotation before anything is written."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from wangge.lib.crypto import blind_index
from wangge.people.models import Household, Resident

OLD, NEW = "old-pii-passphrase-2025", "new-pii-passphrase-2026"


def stored_phone(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM people_resident WHERE id = %s", [pk])
        return cursor.fetchone()[0]


@pytest.fixture
def resident(world, settings):
    settings.PII_KEY, settings.PII_OLD_KEYS = OLD, ()
    home = Household.objects.create(cell=world.grid_a1, address="幸福路8号", door="101")
    return Resident.objects.create(household=home, name="张桂英", phone="13812345678")


def test_rotation_rewrites_old_values_so_the_old_key_can_be_dropped(resident, settings):
    before = stored_phone(resident.pk)
    settings.PII_KEY, settings.PII_OLD_KEYS = NEW, (OLD,)
    assert Resident.objects.get(pk=resident.pk).phone == "13812345678"  # old key still reads

    out = StringIO()
    call_command("pii", "rotate", stdout=out)
    assert "rewrote 1" in out.getvalue()
    assert stored_phone(resident.pk) != before

    settings.PII_OLD_KEYS = ()
    again = Resident.objects.get(pk=resident.pk)
    assert again.phone == "13812345678"
    assert again.phone_index == blind_index("13812345678")  # found by number under the new key
    out = StringIO()
    call_command("pii", "rotate", stdout=out)
    assert "rewrote 0" in out.getvalue()


def test_a_value_no_key_opens_stops_the_rotation_and_nothing_is_written(resident, settings):
    before = stored_phone(resident.pk)
    settings.PII_KEY, settings.PII_OLD_KEYS = NEW, ()  # the old key forgotten
    with pytest.raises(CommandError, match=r"people\.Resident\.phone"):
        call_command("pii", "rotate", stdout=StringIO())
    assert stored_phone(resident.pk) == before
