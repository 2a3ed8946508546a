"""Who read the records of the person behind a phone number."""

from django.db.models import QuerySet

from wangge.audit.models import PersonalDataAccess
from wangge.people.models import Resident


def reads_of(phone_index: str) -> QuerySet[PersonalDataAccess]:
    """Every logged read of the registry records holding this phone number (the person, and
    anyone registered with the same number, such as a child who gave a parent's phone)."""
    ids = [
        str(pk)
        for pk in Resident.objects.filter(phone_index=phone_index).values_list("pk", flat=True)
    ]
    return PersonalDataAccess.objects.filter(object_type="Resident", object_id__in=ids).order_by(
        "-occurred_at", "-id"
    )
