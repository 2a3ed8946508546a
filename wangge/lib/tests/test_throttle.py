"""The flood limit: counts per form and client over a sliding window; the client is the direct
peer unless that peer is a proxy we trust, whose X-Forwarded-For then names the client."""

import pytest
from django.core.cache import cache
from django.test import RequestFactory
from django.utils import translation

from wangge.lib import throttle

HOUR = 3600
# A moment at the very start of a window, so that window arithmetic is easy to follow.
START = 1_000 * HOUR


@pytest.fixture(autouse=True)
def _clock(monkeypatch):
    """A clock the tests move by hand; and no counts left over from another test."""
    cache.clear()
    now = {"t": float(START)}
    monkeypatch.setattr(throttle, "clock", lambda: now["t"])
    yield now
    cache.clear()


def sends(name, client, times, *, limit=3, per=HOUR) -> list[bool]:
    return [throttle.hit(name, client, limit=limit, per=per) for _ in range(times)]


def test_the_client_over_the_limit_is_refused_while_others_go_on():
    assert sends("report", "198.51.100.7", 4) == [True, True, True, False]
    assert sends("report", "198.51.100.8", 1) == [True]
    # Each form has its own count.
    assert sends("wish", "198.51.100.7", 1) == [True]


def test_refused_attempts_do_not_lengthen_the_wait(_clock):
    assert sends("report", "198.51.100.7", 3) == [True] * 3
    _clock["t"] += HOUR / 2
    assert sends("report", "198.51.100.7", 20) == [False] * 20
    # Quiet for the rest of the hour since the last accepted send (at START): through again.
    _clock["t"] = START + HOUR + 1
    assert sends("report", "198.51.100.7", 1) == [True]


def test_the_window_slides_rather_than_resetting_on_the_hour(_clock):
    _clock["t"] = START + HOUR - 60  # a burst a minute before a fixed window would reset
    assert sends("report", "198.51.100.7", 10, limit=10) == [True] * 10
    # Two minutes later the burst still counts nearly in full: one more, not ten more.
    _clock["t"] = START + HOUR + 60
    assert sends("report", "198.51.100.7", 10, limit=10) == [True] + [False] * 9
    # An hour after the burst it has almost slid out; the one since still counts.
    _clock["t"] = START + 2 * HOUR - 60
    assert sends("report", "198.51.100.7", 10, limit=10) == [True] * 9 + [False]


def test_an_expired_count_lets_the_client_through_again():
    assert sends("report", "198.51.100.7", 4) == [True, True, True, False]
    cache.clear()  # as when the count's timeout passes
    assert sends("report", "198.51.100.7", 1) == [True]


def _request(remote="198.51.100.7", forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().post("/report/", **extra)


def test_the_client_is_the_direct_peer_when_no_proxy_is_trusted(settings):
    settings.WANGGE_TRUSTED_PROXIES = ()
    assert throttle.client_ip(_request("198.51.100.7", "203.0.113.9")) == "198.51.100.7"


def test_a_forwarded_address_from_an_untrusted_peer_is_ignored(settings):
    settings.WANGGE_TRUSTED_PROXIES = ["10.0.0.1"]
    assert throttle.client_ip(_request("198.51.100.7", "203.0.113.9")) == "198.51.100.7"


def test_a_trusted_proxy_names_the_client(settings):
    settings.WANGGE_TRUSTED_PROXIES = ["10.0.0.1"]
    assert throttle.client_ip(_request("10.0.0.1", "203.0.113.9")) == "203.0.113.9"


def test_a_client_cannot_hide_behind_an_address_it_wrote_itself(settings):
    # The client sent "X-Forwarded-For: 1.2.3.4"; our proxy appended the real address.
    settings.WANGGE_TRUSTED_PROXIES = ["10.0.0.1"]
    request = _request("10.0.0.1", "1.2.3.4, 203.0.113.9")
    assert throttle.client_ip(request) == "203.0.113.9"


def test_a_chain_of_trusted_proxies_and_networks_is_walked(settings):
    settings.WANGGE_TRUSTED_PROXIES = ["10.0.0.0/8", "not an address"]
    request = _request("10.0.0.1", "203.0.113.9, 10.1.2.3")
    assert throttle.client_ip(request) == "203.0.113.9"
    # Nothing usable forwarded: the proxy itself is the client.
    assert throttle.client_ip(_request("10.0.0.1", "")) == "10.0.0.1"
    assert throttle.client_ip(_request("10.0.0.1", "garbage")) == "10.0.0.1"


def test_ipv6_clients_are_told_apart(settings):
    settings.WANGGE_TRUSTED_PROXIES = ["::1"]
    assert throttle.client_ip(_request("::1", "2001:db8::7")) == "2001:db8::7"
    assert sends("report", "2001:db8::7", 4) == [True, True, True, False]
    assert sends("report", "2001:db8::8", 1) == [True]


def test_the_message_says_nothing_was_saved_and_when_to_retry():
    with translation.override("en"):
        text = throttle.too_many_text(HOUR)
    assert "Nothing was saved" in text and "60 minutes" in text
    with translation.override("zh-hans"):
        text = throttle.too_many_text(HOUR)
    assert text == "您所在网络提交的表单过多，本次内容未保存，请60分钟后再试。"
