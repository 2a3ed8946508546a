"""discovery, services and services/{code}: exact element names in XML and JSON."""

from wangge.cases.models import Category
from wangge.open311.tests.conftest import body, tree, xml

SERVICE_KEYS = [
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
]


def test_discovery_lists_the_endpoint_and_both_formats(o311):
    as_xml = tree(xml(o311.get("discovery.xml")))
    as_json = body(o311.get("discovery.json"))

    endpoint = {
        "specification": "http://wiki.open311.org/GeoReport_v2",
        "url": "http://testserver/open311/v2/",
        "changeset": "2026-11-24T00:00:00+08:00",
        "type": "production",
        "formats": ["text/xml", "application/json"],
    }
    assert as_json == {
        "changeset": "2026-11-24T00:00:00+08:00",
        "contact": "The county command centre (指挥中心).",
        "key_service": "API keys are issued by the command centre's administrator.",
        "endpoints": [endpoint],
    }
    assert as_xml == (
        "discovery",
        [
            ("changeset", "2026-11-24T00:00:00+08:00"),
            ("contact", "The county command centre (指挥中心)."),
            ("key_service", "API keys are issued by the command centre's administrator."),
            (
                "endpoints",
                [
                    (
                        "endpoint",
                        [
                            ("specification", "http://wiki.open311.org/GeoReport_v2"),
                            ("url", "http://testserver/open311/v2/"),
                            ("changeset", "2026-11-24T00:00:00+08:00"),
                            ("type", "production"),
                            (
                                "formats",
                                [("format", "text/xml"), ("format", "application/json")],
                            ),
                        ],
                    )
                ],
            ),
        ],
    )


def test_services_are_the_active_categories(o311, questions):
    Category.objects.filter(code="0203").update(is_active=False)
    active = list(Category.objects.filter(is_active=True).order_by("code"))

    rows = body(o311.get("services.json"))
    root = xml(o311.get("services.xml"))

    assert [r["service_code"] for r in rows] == [c.code for c in active]
    assert "0203" not in [r["service_code"] for r in rows]
    street_light = next(r for r in rows if r["service_code"] == "0201")
    assert street_light == {
        "service_code": "0201",
        "service_name": "路灯损坏",
        "description": "路灯损坏",
        "metadata": True,
        "type": "realtime",
        "keywords": "",
        "group": "市容环境",
    }
    assert next(r for r in rows if r["service_code"] == "0202")["metadata"] is False
    assert root.tag == "services"
    assert [e.tag for e in root] == ["service"] * len(active)
    xml_light = next(e for e in root if e.findtext("service_code") == "0201")
    assert [(e.tag, e.text or "") for e in xml_light] == [
        ("service_code", "0201"),
        ("service_name", "路灯损坏"),
        ("description", "路灯损坏"),
        ("metadata", "true"),
        ("type", "realtime"),
        ("keywords", ""),
        ("group", "市容环境"),
    ]


def test_service_definition_lists_the_questions(o311, questions):
    as_json = body(o311.get("services/0201.json"))
    as_xml = tree(xml(o311.get("services/0201.xml")))

    assert as_json == {
        "service_code": "0201",
        "attributes": [
            {
                "variable": True,
                "code": "pole",
                "datatype": "string",
                "required": True,
                "datatype_description": "灯杆上的白色编号",
                "order": 1,
                "description": "灯杆编号",
            },
            {
                "variable": True,
                "code": "fault",
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": "",
                "order": 2,
                "description": "故障类型",
                "values": [{"key": "dark", "name": "不亮"}, {"key": "flicker", "name": "闪烁"}],
            },
        ],
    }
    assert as_xml == (
        "service_definition",
        [
            ("service_code", "0201"),
            (
                "attributes",
                [
                    (
                        "attribute",
                        [
                            ("variable", "true"),
                            ("code", "pole"),
                            ("datatype", "string"),
                            ("required", "true"),
                            ("datatype_description", "灯杆上的白色编号"),
                            ("order", "1"),
                            ("description", "灯杆编号"),
                        ],
                    ),
                    (
                        "attribute",
                        [
                            ("variable", "true"),
                            ("code", "fault"),
                            ("datatype", "singlevaluelist"),
                            ("required", "false"),
                            ("datatype_description", ""),
                            ("order", "2"),
                            ("description", "故障类型"),
                            (
                                "values",
                                [
                                    ("value", [("key", "dark"), ("name", "不亮")]),
                                    ("value", [("key", "flicker"), ("name", "闪烁")]),
                                ],
                            ),
                        ],
                    ),
                ],
            ),
        ],
    )


def test_a_category_without_questions_has_an_empty_definition(o311):
    assert body(o311.get("services/0202.json")) == {"service_code": "0202", "attributes": []}
    assert tree(xml(o311.get("services/0202.xml"))) == (
        "service_definition",
        [("service_code", "0202"), ("attributes", "")],
    )


def test_jurisdiction_is_the_county_code(o311, world):
    assert o311.get("services.json", jurisdiction_id=world.county.code).status_code == 200
    assert o311.get("services.json", jurisdiction_id="").status_code == 200
    wrong = o311.get("services.xml", jurisdiction_id="sfgov.org")
    assert (wrong.status_code, tree(xml(wrong))) == (
        404,
        (
            "errors",
            [
                (
                    "error",
                    [("code", "404"), ("description", "jurisdiction_id provided was not found.")],
                )
            ],
        ),
    )
