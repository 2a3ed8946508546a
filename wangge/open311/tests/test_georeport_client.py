"""A third-party GeoReport v2 client from PyPI (`georeport`, which reads only: services,
definitions, requests) drives the server over HTTP, in XML and JSON."""

import pytest

georeport = pytest.importorskip("georeport")


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_georeport_client_reads_services_and_requests(
    world_after_flush, live_server, new_request, world, fmt
):
    from wangge.cases.models import Case

    assert new_request().status_code == 201
    case = Case.objects.get()
    client = georeport.GeoReport(
        f"{live_server.url}/open311/v2", jurisdiction=world.county.code, output_format=fmt
    )

    services = client.get_service_list()
    definition = client.get_service_definition("0201")
    listed = client.get_service_requests(status="open")
    one = client.get_service_request(case.tracking_code)

    light = next(s for s in services if s["service_code"] == "0201")
    assert (light["service_name"], light["group"]) == ("路灯损坏", "市容环境")
    assert definition["service_code"] == "0201"
    # xmltodict gives one element as a dict, several as a list
    attributes = definition["attributes"]["attribute"] if fmt == "xml" else definition["attributes"]
    assert [a["code"] for a in attributes] == ["pole", "fault"]
    row = listed if fmt == "xml" else listed[0]
    assert (row["service_request_id"], row["status"], row["agency_responsible"]) == (
        case.tracking_code,
        "open",
        "县城市管理局",
    )
    assert (one["description"], one["service_code"]) == ("路灯不亮，晚上很黑", "0201")
