"""`wangge open311 check` against a conforming fake GeoReport v2 server and broken variants."""

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from wangge.open311 import conformance
from wangge.open311.tests.test_client import FakeGeoReport
from wangge.world import centre_of

EVERY_CHECK = [
    "discovery.xml",
    "discovery.json",
    "services.xml",
    "services.json",
    "services/0201.xml",
    "services/0201.json",
    "POST requests.xml",
    "POST requests.xml without api_key",
    "POST requests.xml unknown service_code",
    "POST requests.json",
    "POST requests.json without api_key",
    "POST requests.json unknown service_code",
    "GET requests/1000.xml",
    "GET requests/1000.json",
    "GET requests/1001.xml",
    "GET requests/1001.json",
    "GET requests.xml date filters",
    "GET requests/unknown.xml",
    "GET requests.json date filters",
    "GET requests/unknown.json",
]


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def fake():
    with FakeGeoReport() as server:
        yield server


def check(fake, *broken):
    fake.broken.update(broken)
    return conformance.run(fake.url, api_key="k-secret", lat=34.43, lon=115.07)


def failures(results):
    return [(r.name, r.reason) for r in results if not r.ok]


def test_a_conforming_server_passes_every_check_and_keeps_the_chinese_text(fake):
    results = check(fake)

    assert [(r.name, r.ok) for r in results] == [(name, True) for name in EVERY_CHECK]
    # The check posted a required attribute from the service definition, the text came back
    # exactly in XML and JSON, and the reason lines say what was seen.
    assert [r["description"] for r in fake.requests.values()] == [conformance.ROUND_TRIP] * 2
    assert {r.name: r.reason for r in results}["POST requests.json without api_key"] == (
        "HTTP 403, 403: Invalid api_key"
    )


def test_dates_without_a_time_zone_fail_where_a_request_is_read(fake):
    results = check(fake, "naive_dates")

    assert [name for name, _reason in failures(results)] == [
        "GET requests/1000.xml",
        "GET requests/1000.json",
        "GET requests/1001.xml",
        "GET requests/1001.json",
        "GET requests.xml date filters",
        "GET requests.json date filters",
    ]
    stamp = fake.requests["1000"]["requested_datetime"][:19]
    assert failures(results)[0][1] == (
        f"requested_datetime “{stamp}” is not a W3C date-time with a time zone"
    )


def test_errors_outside_the_error_document_fail_each_error_check(fake):
    results = check(fake, "plain_errors")

    assert failures(results) == [
        (
            "POST requests.xml without api_key",
            "Content-Type “text/plain; charset=utf-8”, expected text/xml",
        ),
        (
            "POST requests.xml unknown service_code",
            "Content-Type “text/plain; charset=utf-8”, expected text/xml",
        ),
        (
            "POST requests.json without api_key",
            "Content-Type “text/plain; charset=utf-8”, expected application/json",
        ),
        (
            "POST requests.json unknown service_code",
            "Content-Type “text/plain; charset=utf-8”, expected application/json",
        ),
        ("GET requests/unknown.xml", "Content-Type “text/plain; charset=utf-8”, expected text/xml"),
        (
            "GET requests/unknown.json",
            "Content-Type “text/plain; charset=utf-8”, expected application/json",
        ),
    ]


def test_numeric_ids_in_json_fail(fake):
    results = check(fake, "numeric_ids")

    assert failures(results) == [
        ("POST requests.json", "service_request_id is not a string"),
        ("GET requests/1000.json", "service_request_id is not a string"),
        ("GET requests.json date filters", "service_request_id is not a string"),
    ]


def test_unescaped_xml_is_not_well_formed(fake):
    results = check(fake, "unescaped_xml")

    assert [name for name, _reason in failures(results)] == [
        "GET requests/1000.xml",
        "GET requests/1001.xml",
        "GET requests.xml date filters",
    ]
    assert failures(results)[0][1].startswith(
        "not well-formed XML: not well-formed (invalid token)"
    )


def test_check_command_prints_a_line_per_check_and_fails_on_any_failure(fake, capsys):
    # skip_checks=False: run as `wangge open311 check` does, system checks included.
    call_command(
        "open311",
        "check",
        fake.url,
        "--api-key",
        "k-secret",
        "--service",
        "pothole",
        skip_checks=False,
    )
    passed = capsys.readouterr().out.splitlines()

    fake.broken.add("numeric_ids")
    with pytest.raises(CommandError) as refused:
        call_command("open311", "check", fake.url, "--api-key", "k-secret", "--service", "pothole")
    failed = capsys.readouterr().out.splitlines()

    assert (len(passed), passed[-1]) == (len(EVERY_CHECK) + 1, "20 passed, 0 failed")
    assert passed[6] == "PASS  POST requests.xml: service_request_id=1000"
    # the JSON request was not accepted, so the two reads of it are not run
    assert failed[-1] == "15 passed, 3 failed"
    assert "FAIL  POST requests.json: service_request_id is not a string" in failed
    assert refused.value.returncode == 1


def test_wangge_own_server_passes_the_check(
    world_after_flush, live_server, world, api_key, questions
):
    lon, lat = centre_of(world.grid_a1)

    results = conformance.run(
        f"{live_server.url}/open311/v2",
        api_key=api_key,
        jurisdiction_id=world.county.code,
        service_code="0201",
        lat=lat,
        lon=lon,
    )

    # Every check passes; the requests the check created are read back by their ids.
    ids = [
        r.name.split("/")[1].split(".")[0] for r in results if r.name.startswith("GET requests/")
    ]
    assert [(r.name, r.ok) for r in results] == [
        ("discovery.xml", True),
        ("discovery.json", True),
        ("services.xml", True),
        ("services.json", True),
        ("services/0201.xml", True),
        ("services/0201.json", True),
        ("POST requests.xml", True),
        ("POST requests.xml without api_key", True),
        ("POST requests.xml unknown service_code", True),
        ("POST requests.json", True),
        ("POST requests.json without api_key", True),
        ("POST requests.json unknown service_code", True),
        (f"GET requests/{ids[0]}.xml", True),
        (f"GET requests/{ids[0]}.json", True),
        (f"GET requests/{ids[2]}.xml", True),
        (f"GET requests/{ids[2]}.json", True),
        ("GET requests.xml date filters", True),
        ("GET requests/unknown.xml", True),
        ("GET requests.json date filters", True),
        ("GET requests/unknown.json", True),
    ]
