"""After logging in, each person lands where their work is."""

from django.test import Client

from wangge.world import DEMO_PASSWORD


def lands(username: str) -> str:
    r = Client().post("/login/", {"username": username, "password": DEMO_PASSWORD})
    return r["Location"]


def test_each_role_lands_on_its_own_page(world):
    assert lands("dispatcher") == "/queue/"
    assert lands("grid_worker_a1") == "/h5/"
    assert lands("leader") == "/screen/"


def test_a_next_page_still_wins(world):
    r = Client().post(
        "/login/?next=/reports/", {"username": "grid_worker_a1", "password": DEMO_PASSWORD}
    )
    assert r["Location"] == "/reports/"
