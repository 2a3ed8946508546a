"""GeoReport v2 documents in XML and JSON from one structure (the Spark convention).

A document is a root name and a value: a list of dicts renders as repeated elements named by
`ITEM_NAMES`, a dict as child elements in order, True/False as `true`/`false`, None as an
empty element (JSON: null). XML is escaped by ElementTree; characters XML 1.0 cannot carry
(control characters) are dropped rather than producing a document no client can parse.
"""

import json
import re
from xml.etree import ElementTree as ET

from django.http import HttpResponse

ITEM_NAMES = {
    "services": "service",
    "service_requests": "request",
    "service_request_updates": "request_update",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
}
CONTENT_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(element: ET.Element, name: str, value) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), key, child)
    elif isinstance(value, list):
        item = ITEM_NAMES[name]
        for child in value:
            _fill(ET.SubElement(element, item), item, child)
    else:
        element.text = _text(value)


def to_xml(root: str, value) -> bytes:
    element = ET.Element(root)
    _fill(element, root, value)
    body = ET.tostring(element, encoding="unicode")
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + body).encode()


def to_json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def document(fmt: str, root: str, value, *, status: int = 200) -> HttpResponse:
    """Render `value` under `root` in the requested format (`xml` or `json`)."""
    body = to_json(value) if fmt == "json" else to_xml(root, value)
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES.get(fmt, "text/xml"))


def errors(fmt: str, status: int, *descriptions: str) -> HttpResponse:
    """The spec's error document: `errors` → `error` with `code` (the HTTP status) and
    `description`."""
    rows = [{"code": status, "description": str(d)} for d in descriptions]
    return document(fmt, "errors", rows, status=status)
