import json
from xml.etree import ElementTree as ET

import pytest

from wangge.open311.actions import create_key
from wangge.open311.models import ServiceAttribute
from wangge.world import centre_of

BASE = "/open311/v2"
# Personal data the tests post; none of it may ever show in a GET.
PERSONAL = {
    "email": "li.xiuying@example.cn",
    "first_name": "秀英",
    "last_name": "李",
    "phone": "13812345678",
    "device_id": "device-7f3a",
    "account_id": "acct-991",
}


@pytest.fixture
def api_key(world) -> str:
    _key, raw = create_key(name="fixmystreet", channel="fixmystreet.example")
    return raw


@pytest.fixture
def questions(world):
    """路灯损坏 (0201) asks for the pole number (required) and the kind of fault."""
    category = world.category("0201")
    return [
        ServiceAttribute.objects.create(
            category=category,
            code="pole",
            datatype="string",
            required=True,
            description="灯杆编号",
            datatype_description="灯杆上的白色编号",
            order=1,
        ),
        ServiceAttribute.objects.create(
            category=category,
            code="fault",
            datatype="singlevaluelist",
            required=False,
            description="故障类型",
            order=2,
            values=[{"key": "dark", "name": "不亮"}, {"key": "flicker", "name": "闪烁"}],
        ),
    ]


@pytest.fixture
def o311(client, world):
    """GET and POST against /open311/v2/ in English (error texts are then stable)."""

    class Api:
        def get(self, path, **params):
            return client.get(f"{BASE}/{path}", params, HTTP_ACCEPT_LANGUAGE="en")

        def post(self, path, data, **kw):
            kw.setdefault("content_type", "application/x-www-form-urlencoded")
            from urllib.parse import urlencode

            body = data if isinstance(data, bytes | str) else urlencode(data, doseq=True)
            return client.post(f"{BASE}/{path}", body, HTTP_ACCEPT_LANGUAGE="en", **kw)

    return Api()


@pytest.fixture
def new_request(o311, api_key, world, questions):
    """POST a valid street-light request located in grid A1; returns the form it sent."""
    lon, lat = centre_of(world.grid_a1)

    def _post(fmt="json", **extra):
        form = {
            "api_key": api_key,
            "service_code": "0201",
            "lat": str(lat),
            "long": str(lon),
            "address_string": "解放路12号",
            "description": "路灯不亮，晚上很黑",
            "media_url": "https://photos.example.cn/1.jpg",
            "attribute[pole]": "A-017",
            "attribute[fault]": "dark",
            **PERSONAL,
            **extra,
        }
        return o311.post(f"requests.{fmt}", form)

    return _post


def xml(response):
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)  # noqa: S314 - our own server's answer


def tree(element):
    """An element as nested (tag, text or children) tuples, order kept."""
    children = list(element)
    if not children:
        return (element.tag, element.text or "")
    return (element.tag, [tree(c) for c in children])


def body(response):
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return json.loads(response.content.decode("utf-8"))
