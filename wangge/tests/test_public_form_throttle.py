"""The public forms that need no login cannot be flooded: past its hourly limit, one address
gets its form back with a message (429) and nothing is stored, while other addresses go on; the
limit lets go after an hour; behind a trusted proxy each resident counts on their own."""

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import translation

from wangge.cases.actions import accept_case, dispatch_case, resolve_case
from wangge.cases.models import Case, Notification, Outcome
from wangge.cases.views import portal
from wangge.lib import throttle
from wangge.participation import views as participation_views
from wangge.participation.models import MicroWish
from wangge.privacy import views as privacy_views
from wangge.privacy.models import PhoneCheck
from wangge.projects import views as projects_views
from wangge.projects.models import PublicComment
from wangge.projects.tests.factories import project
from wangge.world import centre_of

FLOODER, NEIGHBOUR = "198.51.100.7", "198.51.100.8"
PROXY = "10.0.0.1"
HOUR = 3600


@pytest.fixture(autouse=True)
def _fresh_counts(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.WANGGE_TRUSTED_PROXIES = ()
    cache.clear()
    yield
    cache.clear()


def refusal() -> str:
    with translation.override("zh-hans"):
        return throttle.too_many_text(HOUR)


def refused(response) -> bool:
    """Answered 429 with the form back and the message on it."""
    html = response.content.decode()
    return response.status_code == 429 and refusal() in html and "本次内容未保存" in html


# --- 上报 and 评价 -------------------------------------------------------------------------------


def report_form(world, n: int) -> dict:
    lon, lat = centre_of(world.grid_a1)
    return {
        "title": f"小区路灯不亮 {n}",
        "lon": f"{lon:.6f}",
        "lat": f"{lat:.6f}",
        "key": f"report-key-{n:04d}",
    }


def test_the_report_form_refuses_the_eleventh_report_from_one_address(world):
    flooder = Client(REMOTE_ADDR=FLOODER)
    for n in range(portal.REPORT_LIMIT):
        assert flooder.post("/report/", report_form(world, n)).status_code == 302
    assert Case.objects.count() == portal.REPORT_LIMIT

    over = flooder.post("/report/", report_form(world, 99))
    assert refused(over)
    assert "小区路灯不亮 99" in over.content.decode()  # what they typed is still there
    assert Case.objects.count() == portal.REPORT_LIMIT

    # The same limit on a grid's QR link; a neighbour's report goes through.
    qr = f"/r/{world.grid_a1.code}/"
    assert refused(flooder.post(qr, report_form(world, 98)))
    assert Client(REMOTE_ADDR=NEIGHBOUR).post(qr, report_form(world, 97)).status_code == 302
    assert Case.objects.count() == portal.REPORT_LIMIT + 1


def test_mistakes_on_the_form_do_not_use_up_the_limit(world):
    flooder = Client(REMOTE_ADDR=FLOODER)
    for n in range(portal.REPORT_LIMIT):
        assert flooder.post("/report/", {**report_form(world, n), "title": ""}).status_code == 400
    assert flooder.post("/report/", report_form(world, 0)).status_code == 302


def resolved(world, report, title: str) -> Case:
    case = report(title)
    case = dispatch_case(case, assignee=world.grid_worker_a1, actor=world.dispatcher)
    case = accept_case(case, actor=world.grid_worker_a1)
    return resolve_case(case, outcome=Outcome.SOLVED, note="已修好", actor=world.grid_worker_a1)


def test_ratings_past_the_limit_are_refused_and_not_recorded(world, report):
    first, second = resolved(world, report, "路灯不亮"), resolved(world, report, "井盖松动")
    flooder = Client(REMOTE_ADDR=FLOODER)
    url = reverse("portal_rate", args=[first.tracking_code])
    rate = {"satisfaction": "satisfied"}
    answers = {flooder.post(url, rate).status_code for _ in range(portal.RATE_LIMIT)}
    assert answers == {302, 409}  # rated once, then "already rated"

    other = reverse("portal_rate", args=[second.tracking_code])
    assert refused(flooder.post(other, {"satisfaction": "unsatisfied"}))
    second.refresh_from_db()
    assert not second.satisfaction

    assert Client(REMOTE_ADDR=NEIGHBOUR).post(other, rate).status_code == 302
    second.refresh_from_db()
    assert second.satisfaction == "satisfied"


# --- 微心愿 ---------------------------------------------------------------------------------------


def wish_form(n: int) -> dict:
    return {
        "title": f"想要一台收音机 {n}",
        "wisher_name": "王秀英",
        "wisher_phone": "13912345678",
        "key": f"wish-key-{n:04d}",
    }


def test_the_wish_wall_refuses_the_sixth_wish_from_one_address(world):
    url = reverse("wishes_wall", args=[world.grid_a1.parent.code])
    flooder = Client(REMOTE_ADDR=FLOODER)
    for n in range(participation_views.WISH_LIMIT):
        assert flooder.post(url, wish_form(n)).status_code == 302
    assert refused(flooder.post(url, wish_form(99)))
    assert MicroWish.objects.count() == participation_views.WISH_LIMIT
    assert Client(REMOTE_ADDR=NEIGHBOUR).post(url, wish_form(98)).status_code == 302


def test_behind_a_trusted_proxy_each_resident_counts_alone(world, settings):
    settings.WANGGE_TRUSTED_PROXIES = [PROXY]
    url = reverse("wishes_wall", args=[world.grid_a1.parent.code])
    via_proxy = Client(REMOTE_ADDR=PROXY)
    for n in range(participation_views.WISH_LIMIT):
        assert via_proxy.post(url, wish_form(n), HTTP_X_FORWARDED_FOR=FLOODER).status_code == 302
    assert refused(via_proxy.post(url, wish_form(99), HTTP_X_FORWARDED_FOR=FLOODER))
    assert via_proxy.post(url, wish_form(98), HTTP_X_FORWARDED_FOR=NEIGHBOUR).status_code == 302


def test_an_untrusted_peer_cannot_escape_by_naming_other_addresses(world, settings):
    settings.WANGGE_TRUSTED_PROXIES = [PROXY]
    url = reverse("wishes_wall", args=[world.grid_a1.parent.code])
    flooder = Client(REMOTE_ADDR=FLOODER)
    for n in range(participation_views.WISH_LIMIT):
        forged = f"203.0.113.{n}"
        assert flooder.post(url, wish_form(n), HTTP_X_FORWARDED_FOR=forged).status_code == 302
    assert refused(flooder.post(url, wish_form(99), HTTP_X_FORWARDED_FOR="203.0.113.99"))
    assert MicroWish.objects.count() == participation_views.WISH_LIMIT


# --- 码上议 ---------------------------------------------------------------------------------------


def test_project_comments_are_limited_and_the_limit_lets_go_after_an_hour(world, monkeypatch):
    now = {"t": 1_000.0 * HOUR}
    monkeypatch.setattr(throttle, "clock", lambda: now["t"])
    park = project(world, "口袋公园", budget="60000")
    url = reverse("projects_comment", args=[park.pk])
    flooder = Client(REMOTE_ADDR=FLOODER)

    def comment(n):
        return flooder.post(url, {"body": f"希望增加座椅，第{n}条", "key": f"comment-{n:04d}"})

    for n in range(projects_views.COMMENT_LIMIT):
        assert comment(n).status_code == 200
    assert refused(comment(99))
    assert PublicComment.objects.count() == projects_views.COMMENT_LIMIT

    now["t"] += HOUR / 2
    assert refused(comment(98))
    now["t"] += HOUR / 2 + 1
    assert comment(97).status_code == 200
    assert PublicComment.objects.count() == projects_views.COMMENT_LIMIT + 1


# --- 我的数据 -------------------------------------------------------------------------------------


def test_phone_codes_are_limited_per_address_whatever_the_numbers(world):
    def ask(phone, address=FLOODER):  # a fresh browser each time: cookies do not matter
        return Client(REMOTE_ADDR=address).post("/my-data/", {"phone": phone})

    for n in range(privacy_views.CODE_LIMIT):
        assert ask(f"1381234{n:04d}").status_code == 302
    sent = Notification.objects.filter(kind="phone_check").count()

    assert refused(ask("13812349999"))
    assert PhoneCheck.objects.count() == privacy_views.CODE_LIMIT
    assert Notification.objects.filter(kind="phone_check").count() == sent

    assert ask("13812349999", NEIGHBOUR).status_code == 302
