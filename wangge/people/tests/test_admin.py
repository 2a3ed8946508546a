"""The admin lists the registry without ever showing an ID or phone number."""

from django.test import Client

from wangge.people.models import Household, Resident


def test_the_admin_shows_residents_without_their_numbers(world):
    home = Household.objects.create(cell=world.grid_a1, address="幸福路8号", door="101")
    person = Resident.objects.create(
        household=home, name="张桂英", phone="13812345678", id_number="41142219450307004X"
    )
    admin = Client()
    admin.force_login(world.admin)
    for url in ("/admin/people/resident/", f"/admin/people/resident/{person.pk}/change/"):
        page = admin.get(url)
        body = page.content.decode()
        assert page.status_code == 200 and "张桂英" in body
        assert "13812345678" not in body and "41142219450307004X" not in body
