"""Bad input: a clean 4xx in the spec's error format, nothing stored, and the server keeps
answering afterwards."""

import pytest

from wangge.cases.models import Case, CaseEvent, Notification
from wangge.open311.actions import revoke_key
from wangge.open311.models import Open311Submission
from wangge.open311.tests.conftest import body, tree, xml


def _stored():
    return (
        Case.objects.count(),
        CaseEvent.objects.count(),
        Notification.objects.count(),
        Open311Submission.objects.count(),
    )


BAD_POSTS = [
    ("missing key", {"api_key": ""}, 403, ["api_key was not provided."]),
    ("wrong key", {"api_key": "not-a-key"}, 403, ["api_key is invalid or revoked."]),
    ("no service code", {"service_code": ""}, 400, ["service_code was not provided."]),
    ("unknown service", {"service_code": "9999"}, 404, ["service_code was not found."]),
    (
        "no location",
        {"lat": "", "long": "", "address_string": ""},
        400,
        ["A location is required: lat and long, address_string or address_id."],
    ),
    ("lat only", {"long": ""}, 400, ["Give both lat and long."]),
    ("lat not a number", {"lat": "north"}, 400, ["lat is not a number."]),
    (
        "lat off Earth",
        {"lat": "123"},
        400,
        [
            "long: Longitude must be between -180 and 180.",
            "lat: Latitude must be between -90 and 90.",
        ],
    ),
    ("required answer missing", {"attribute[pole]": ""}, 400, ["attribute[pole] is required."]),
    (
        "answer not a listed key",
        {"attribute[fault]": "broken"},
        400,
        ["attribute[fault] is not one of the listed keys."],
    ),
    ("bad e-mail", {"email": "not an address"}, 400, ["email is not an e-mail address."]),
    (
        "bad media url",
        {"media_url": "javascript:alert(1)"},
        400,
        ["media_url is not an http(s) URL."],
    ),
    ("bad phone", {"phone": "call me"}, 400, ["phone: Not a phone number."]),
    (
        "description too long",
        {"description": "长" * 5001},
        400,
        ["description: At most 5000 characters."],
    ),
    (
        "wrong jurisdiction",
        {"jurisdiction_id": "sfgov.org"},
        404,
        ["jurisdiction_id provided was not found."],
    ),
]


@pytest.mark.parametrize("fmt", ["xml", "json"])
@pytest.mark.parametrize(("why", "change", "status", "descriptions"), BAD_POSTS)
def test_bad_post_is_refused_and_nothing_is_stored(
    new_request, fmt, why, change, status, descriptions
):
    before = _stored()

    response = new_request(fmt, **change)

    assert response.status_code == status
    if fmt == "json":
        assert body(response) == [{"code": status, "description": d} for d in descriptions]
    else:
        assert tree(xml(response)) == (
            "errors",
            [("error", [("code", str(status)), ("description", d)]) for d in descriptions],
        )
    assert _stored() == before
    assert new_request(fmt).status_code == 201  # and the server keeps answering


def test_revoked_key_is_refused(new_request, world):
    revoke_key(name="fixmystreet")

    response = new_request("json")

    assert (response.status_code, body(response)) == (
        403,
        [{"code": 403, "description": "api_key is invalid or revoked."}],
    )
    assert _stored()[0] == 0


def test_invalid_utf8_is_refused(o311, api_key, new_request):
    form = f"api_key={api_key}&service_code=0201&lat=34.4&long=115.0&attribute[pole]=1"
    response = o311.post("requests.json", (form + "&description=%FF%FE%C3").encode())

    assert (response.status_code, body(response)) == (
        400,
        [{"code": 400, "description": "The request is not valid UTF-8."}],
    )
    assert _stored() == (0, 0, 0, 0)
    assert new_request().status_code == 201


def test_ten_megabyte_body_is_refused(o311, api_key, new_request):
    form = f"api_key={api_key}&service_code=0201&description=" + "a" * (10 * 1024 * 1024)

    response = o311.post("requests.xml", form)

    assert (response.status_code, tree(xml(response))) == (
        413,
        (
            "errors",
            [("error", [("code", "413"), ("description", "The request body is too large.")])],
        ),
    )
    assert _stored() == (0, 0, 0, 0)
    assert new_request().status_code == 201


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"start_date": "yesterday"}, "start_date is not a W3C date-time with a time zone."),
        ({"end_date": "2026-11-24T10:00:00"}, "end_date is not a W3C date-time with a time zone."),
        (
            {"start_date": "2026-13-40T00:00:00Z"},
            "start_date is not a W3C date-time with a time zone.",
        ),
        (
            {"start_date": "2026-01-01T00:00:00Z", "end_date": "2025-01-01T00:00:00Z"},
            "start_date is after end_date.",
        ),
        (
            {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00+08:00"},
            "The date range may not span more than 90 days.",
        ),
        ({"status": "pending"}, "status must be open or closed."),
    ],
)
def test_bad_list_arguments_answer_400(o311, params, description):
    response = o311.get("requests.json", **params)

    assert (response.status_code, body(response)) == (
        400,
        [{"code": 400, "description": description}],
    )


def test_unknown_ids_and_methods_answer_404_in_the_asked_format(o311):
    cases = [
        o311.get("requests/NOSUCHCASE.json"),
        o311.get("tokens/nosuchtoken.json"),
        o311.get("services/9999.json"),
        o311.get("nonsense.json"),
    ]
    assert [(r.status_code, body(r)[0]["code"]) for r in cases] == [(404, 404)] * 4
    assert [body(r)[0]["description"] for r in cases] == [
        "service_request_id was not found.",
        "token was not found.",
        "service_code was not found.",
        "No such Open311 method.",
    ]
    no_format = o311.get("services")
    assert (no_format.status_code, xml(no_format)[0].findtext("code")) == (404, "404")


def test_wrong_method_answers_405(o311):
    response = o311.post("services.json", {})

    assert (response.status_code, body(response)) == (
        405,
        [{"code": 405, "description": "Method not allowed."}],
    )
