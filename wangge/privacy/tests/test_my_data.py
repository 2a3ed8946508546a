"""A resident proves their phone with a code and sees who read their data; a wrong or late code
shows nothing; codes are rate-limited; the code and phone are not stored in clear."""

from datetime import timedelta

from django.db import connection
from django.test import Client
from django.utils import timezone

from wangge.cases.models import Notification
from wangge.cases.outbox import clear_payload
from wangge.people.actions import reveal_resident_field
from wangge.people.models import Household, Resident
from wangge.privacy.models import PhoneCheck

PHONE = "13812345678"


def sent_code() -> str:
    note = Notification.objects.filter(kind="phone_check").latest("id")
    return clear_payload(note.payload)["code"]


def test_a_resident_sees_who_read_their_number_once_the_phone_is_proven(world):
    home = Household.objects.create(cell=world.grid_a1, address="幸福路8号", door="101")
    me = Resident.objects.create(household=home, name="张桂英", phone=PHONE, id_number="")
    reveal_resident_field(me, field="phone", purpose="通知领取高龄津贴", actor=world.grid_worker_a1)

    browser = Client()
    r = browser.post("/my-data/", {"phone": PHONE})
    assert r.status_code == 302
    page = browser.get("/my-data/").content.decode()
    assert "*******5678" in page and "通知领取高龄津贴" not in page

    wrong = browser.post("/my-data/", {"code": "000000" if sent_code() != "000000" else "111111"})
    assert wrong.status_code == 400 and "通知领取高龄津贴" not in wrong.content.decode()
    browser.post("/my-data/", {"code": sent_code()})
    page = browser.get("/my-data/").content.decode()
    assert "通知领取高龄津贴" in page and world.grid_worker_a1.display_name in page

    # Another browser, or the same after leaving, sees nothing without a code.
    assert "通知领取高龄津贴" not in Client().get("/my-data/").content.decode()
    browser.get("/my-data/leave/")
    assert "通知领取高龄津贴" not in browser.get("/my-data/").content.decode()


def test_a_late_code_is_refused_and_codes_are_limited_per_hour(world):
    browser = Client()
    browser.post("/my-data/", {"phone": PHONE})
    PhoneCheck.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    r = browser.post("/my-data/", {"code": sent_code()})
    assert r.status_code == 400 and PhoneCheck.objects.get().verified_at is None
    for _ in range(2):
        Client().post("/my-data/", {"phone": PHONE})
    refused = Client().post("/my-data/", {"phone": PHONE})
    assert refused.status_code == 400
    assert PhoneCheck.objects.count() == 3


def test_neither_the_phone_nor_the_code_is_stored_in_clear(world):
    Client().post("/my-data/", {"phone": PHONE})
    code = sent_code()
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone, phone_index, code_hash FROM privacy_phonecheck")
        stored = " ".join(cursor.fetchone())
        cursor.execute("SELECT payload FROM cases_notification WHERE kind = 'phone_check'")
        outbox = str(cursor.fetchone()[0])
    assert PHONE not in stored + outbox and code not in stored + outbox
