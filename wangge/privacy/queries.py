"""Who read the records of the person behind a phone number."""

from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast

from wangge.audit.models import PersonalDataAccess
from wangge.cases.models import Case
from wangge.lib.crypto import blind_index, phone_digits, phone_index
from wangge.people.models import Resident


def _keys(qs: QuerySet) -> QuerySet:
    """The rows' ids as the access log stores them (text)."""
    return qs.annotate(key=Cast("pk", CharField(max_length=20))).values("key")


def reads_of(phone: str) -> QuerySet[PersonalDataAccess]:
    """Every logged read of the records this phone number is held in: the registry records
    with it (the person, and anyone registered with the same number, such as a child who gave a
    parent's phone), whose ID or phone number staff revealed or exported in clear; and the cases
    it reported, whose phone staff revealed (on the case page or through the API)."""
    indexes = {blind_index(phone), blind_index(phone_digits(phone))}
    residents = Resident.objects.filter(phone_index__in=indexes)
    cases = Case.objects.filter(reporter_phone_index=phone_index(phone))
    return PersonalDataAccess.objects.filter(
        Q(object_type="Resident", object_id__in=_keys(residents))
        | Q(object_type="Case", object_id__in=_keys(cases))
    ).order_by("-occurred_at", "-id")
