"""A GeoReport v2 conformance suite that runs against any server (wangge's own or a partner's).

It follows the published spec (wiki.open311.org/GeoReport_v2) and its JSON schemas: discovery,
services and service definitions in XML and JSON, POST requests (valid, without api_key, with an
unknown service_code), the request read back in both formats, date filters, W3C date-times with a
time zone, IDs as strings, statuses open/closed, the error document (errors → error → code +
description) and UTF-8 text surviving the round trip exactly. It creates two requests on the
server (one per format); point it at a test jurisdiction where that matters.
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from xml.etree import ElementTree as ET

from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.open311.client import Open311Error, Response, http, parse_datetime, w3c, xml_items

SERVICE_TYPES = ("realtime", "batch", "blackbox")
DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
STATUSES = ("open", "closed")
DATE_FIELDS = ("requested_datetime", "updated_datetime", "expected_datetime")
# Chinese, an ampersand and a less-than sign: UTF-8 and XML escaping in one text.
ROUND_TRIP = "一致性检查：路灯不亮 & 井盖松动，1<2 “引号”"


@dataclass
class Result:
    name: str
    ok: bool
    reason: str = ""

    def line(self) -> str:
        word = "PASS" if self.ok else "FAIL"
        return f"{word}  {self.name}" + (f": {self.reason}" if self.reason else "")


class Failed(Exception):
    """One check failed; the message says why."""


def _need(condition, message) -> None:
    if not condition:
        raise Failed(message)


def _json_object(answer) -> dict:
    """A JSON answer that must be one object (discovery, a service definition), with HTTP 200."""
    _need(
        answer.status == 200,
        _("HTTP %(got)s, expected %(want)s") % {"got": answer.status, "want": 200},
    )
    try:
        doc = json.loads(answer.body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise Failed(_("not valid JSON: %(error)s") % {"error": exc}) from exc
    _need(isinstance(doc, dict), _("the JSON is not an object"))
    return doc


class Suite:
    def __init__(
        self, base_url, *, api_key, jurisdiction_id=None, service_code=None, lat=None, lon=None
    ):
        self.base = base_url.rstrip("/")
        self.api_key = api_key
        self.jurisdiction_id = jurisdiction_id
        self.service_code = service_code
        self.lat, self.lon = lat, lon
        self.results: list[Result] = []
        self.services: list[dict] = []
        self.definitions: dict[str, dict] = {}
        self.created: dict[str, str] = {}  # format → service_request_id

    # --- plumbing -------------------------------------------------------------------------

    def check(self, name, fn, *args):
        try:
            reason = fn(*args) or ""
        except Failed as exc:
            self.results.append(Result(name, False, str(exc)))
            return False
        except Open311Error as exc:
            self.results.append(Result(name, False, str(exc)))
            return False
        self.results.append(Result(name, True, reason))
        return True

    def get(self, path, **params) -> Response:
        params.setdefault("jurisdiction_id", self.jurisdiction_id)
        return http("GET", f"{self.base}/{path}", params=params)

    def post(self, path, form) -> Response:
        if self.jurisdiction_id:
            form = {"jurisdiction_id": self.jurisdiction_id, **form}
        return http("POST", f"{self.base}/{path}", form=form)

    def document(self, answer: Response, fmt: str, root: str, *, status=(200,)):
        """The answer as a list of dicts, after checking status, Content-Type and syntax."""
        _need(
            answer.status in status,
            _("HTTP %(got)s, expected %(want)s")
            % {"got": answer.status, "want": " or ".join(map(str, status))},
        )
        want = ("text/xml", "application/xml") if fmt == "xml" else ("application/json",)
        _need(
            answer.media_type() in want,
            _("Content-Type “%(got)s”, expected %(want)s")
            % {"got": answer.content_type, "want": want[0]},
        )
        try:
            text = answer.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Failed(_("the body is not UTF-8")) from exc
        if fmt == "json":
            try:
                value = json.loads(text)
            except ValueError as exc:
                raise Failed(_("not valid JSON: %(error)s") % {"error": exc}) from exc
            _need(
                isinstance(value, list) and all(isinstance(v, dict) for v in value),
                _("the JSON is not a list of objects"),
            )
            return value
        head = text.lstrip("\ufeff")[:100].lower()
        _need(
            head.startswith("<?xml") and "encoding=" in head and "utf-8" in head,
            _("the XML does not start with a declaration of encoding UTF-8"),
        )
        try:
            return xml_items(answer.body, root)
        except ValueError as exc:
            raise Failed(_("not well-formed XML: %(error)s") % {"error": exc}) from exc

    def errors(self, answer: Response, fmt: str, status: int):
        """The spec's error document with the right HTTP status."""
        items = self.document(answer, fmt, "errors", status=(status,))
        _need(items, _("no error in the error document"))
        for item in items:
            _need(
                "code" in item and _filled(item.get("description")),
                _("an error without code and description (errors → error → code + description)"),
            )
        return _("HTTP %(status)s, %(code)s: %(text)s") % {
            "status": answer.status,
            "code": items[0]["code"],
            "text": items[0]["description"],
        }

    # --- the checks -------------------------------------------------------------------------

    def run(self) -> list[Result]:
        for fmt in ("xml", "json"):
            self.check(f"discovery.{fmt}", self.check_discovery, fmt)
        for fmt in ("xml", "json"):
            self.check(f"services.{fmt}", self.check_services, fmt)
        for code in [s["service_code"] for s in self.services if _true(s.get("metadata"))]:
            for fmt in ("xml", "json"):
                self.check(f"services/{code}.{fmt}", self.check_definition, code, fmt)
        code = self.service_code or (self.services[0]["service_code"] if self.services else "")
        for fmt in ("xml", "json"):
            self.check(f"POST requests.{fmt}", self.check_post, code, fmt)
            self.check(f"POST requests.{fmt} without api_key", self.check_no_key, code, fmt)
            self.check(f"POST requests.{fmt} unknown service_code", self.check_unknown, fmt)
        for rid in self.created.values():
            for read in ("xml", "json"):
                self.check(f"GET requests/{rid}.{read}", self.check_read, rid, code, read)
        for fmt in ("xml", "json"):
            self.check(f"GET requests.{fmt} date filters", self.check_dates, fmt)
            self.check(f"GET requests/unknown.{fmt}", self.check_missing, fmt)
        return self.results

    def check_discovery(self, fmt):
        answer = self.get(f"discovery.{fmt}")
        if fmt == "json":
            doc = _json_object(answer)
            endpoints = doc.get("endpoints")
        else:
            self.document(answer, fmt, "discovery")
            tree = ET.fromstring(answer.body)  # noqa: S314 - checked well-formed above
            endpoints = [
                {
                    "specification": e.findtext("specification", ""),
                    "url": e.findtext("url", ""),
                    "formats": [f.text for f in e.iter("format")],
                }
                for e in tree.iter("endpoint")
            ]
        _need(isinstance(endpoints, list) and endpoints, _("no endpoints"))
        geo = [e for e in endpoints if "GeoReport_v2" in str(e.get("specification", ""))]
        _need(geo, _("no endpoint with the GeoReport_v2 specification"))
        for endpoint in geo:
            _need(_filled(endpoint.get("url")), _("an endpoint without url"))
            _need("text/xml" in (endpoint.get("formats") or []), _("an endpoint without text/xml"))
        return ""

    def check_services(self, fmt):
        items = self.document(self.get(f"services.{fmt}"), fmt, "services")
        _need(items, _("no services"))
        for item in items:
            for name in ("service_code", "service_name", "metadata", "type"):
                _need(name in item, _("missing field %(field)s") % {"field": name})
            if fmt == "json":
                _need(
                    isinstance(item["service_code"], str),
                    _("%(field)s is not a string") % {"field": "service_code"},
                )
                _need(
                    isinstance(item["metadata"], bool),
                    _("%(field)s is not true or false") % {"field": "metadata"},
                )
            else:
                _need(
                    item["metadata"] in ("true", "false"),
                    _("%(field)s is not true or false") % {"field": "metadata"},
                )
            _need(
                item["type"] in SERVICE_TYPES,
                _("type “%(value)s” is not realtime, batch or blackbox") % {"value": item["type"]},
            )
        if fmt == "json" or not self.services:
            self.services = items
        return _("%(count)s services") % {"count": len(items)}

    def check_definition(self, code, fmt):
        answer = self.get(f"services/{code}.{fmt}")
        if fmt == "json":
            doc = _json_object(answer)
            attributes = doc.get("attributes")
            _need(
                isinstance(attributes, list), _("missing field %(field)s") % {"field": "attributes"}
            )
        else:
            self.document(answer, fmt, "service_definition")
            tree = ET.fromstring(answer.body)  # noqa: S314 - checked well-formed above
            doc = {"service_code": tree.findtext("service_code")}
            attributes = [_xml_attribute(a) for a in tree.iter("attribute")]
        _need(
            str(doc.get("service_code")) == code,
            _("service_code “%(got)s”, expected “%(want)s”")
            % {"got": doc.get("service_code"), "want": code},
        )
        for attribute in attributes:
            for name in ("variable", "code", "datatype", "required"):
                _need(name in attribute, _("missing field %(field)s") % {"field": name})
            for name in ("variable", "required"):
                _need(
                    _bool(attribute[name]) is not None,
                    _("%(field)s is not true or false") % {"field": name},
                )
            _need(
                attribute["datatype"] in DATATYPES,
                _("datatype “%(value)s” is not one of the spec's")
                % {"value": attribute["datatype"]},
            )
            if fmt == "json":
                _need(
                    isinstance(attribute["code"], str),
                    _("%(field)s is not a string") % {"field": "code"},
                )
            for value in attribute.get("values") or []:
                _need("key" in value and "name" in value, _("a value without key and name"))
        self.definitions[code] = {"attributes": attributes}
        return _("%(count)s attributes") % {"count": len(attributes)}

    def form(self, code) -> dict:
        form = {"api_key": self.api_key, "service_code": code, "description": ROUND_TRIP}
        if self.lat is not None and self.lon is not None:
            form.update(lat=repr(self.lat), long=repr(self.lon))
        else:
            form["address_string"] = "测试地址 1号"
        for attribute in self.definitions.get(code, {}).get("attributes", []):
            if _bool(attribute.get("required")) and _bool(attribute.get("variable")) is not False:
                form[f"attribute[{attribute['code']}]"] = _sample(attribute)
        return form

    def check_post(self, code, fmt):
        _need(code, _("no service to post to"))
        items = self.document(
            self.post(f"requests.{fmt}", self.form(code)),
            fmt,
            "service_requests",
            status=(200, 201),
        )
        _need(
            len(items) == 1,
            _("%(count)s requests in the answer, expected 1") % {"count": len(items)},
        )
        item = items[0]
        rid, token = item.get("service_request_id"), item.get("token")
        _need(
            _filled(rid) or _filled(token), _("the answer has neither service_request_id nor token")
        )
        if fmt == "json":
            _need(
                isinstance(rid or token, str),
                _("%(field)s is not a string")
                % {"field": "service_request_id" if _filled(rid) else "token"},
            )
        # Known from here on, so the reads still run when the checks below fail.
        self.created[fmt] = str(rid) if _filled(rid) else self.resolve_token(str(token), fmt)
        _need(
            not (_filled(rid) and _filled(token)),
            _("the answer has both service_request_id and token; the spec allows only one"),
        )
        rid = self.created[fmt]
        return f"service_request_id={rid}"

    def resolve_token(self, token, fmt):
        items = self.document(self.get(f"tokens/{token}.{fmt}"), fmt, "service_requests")
        _need(
            items and _filled(items[0].get("service_request_id")),
            _("the token has no service_request_id yet"),
        )
        return items[0]["service_request_id"]

    def check_no_key(self, code, fmt):
        form = self.form(code or "x")
        form.pop("api_key")
        return self.errors(self.post(f"requests.{fmt}", form), fmt, 403)

    def check_unknown(self, fmt):
        form = self.form("no-such-service-311")
        return self.errors(self.post(f"requests.{fmt}", form), fmt, 404)

    def check_read(self, rid, code, fmt):
        items = self.document(self.get(f"requests/{rid}.{fmt}"), fmt, "service_requests")
        _need(
            len(items) == 1,
            _("%(count)s requests in the answer, expected 1") % {"count": len(items)},
        )
        item = items[0]
        self.request_fields(item, fmt)
        _need(
            str(item["service_request_id"]) == rid,
            _("service_request_id “%(got)s”, expected “%(want)s”")
            % {"got": item["service_request_id"], "want": rid},
        )
        _need(
            str(item["service_code"]) == code,
            _("service_code “%(got)s”, expected “%(want)s”")
            % {"got": item["service_code"], "want": code},
        )
        _need(
            item.get("description") == ROUND_TRIP,
            _("the description changed in the round trip: sent “%(sent)s”, got “%(got)s”")
            % {"sent": ROUND_TRIP, "got": item.get("description")},
        )
        return ""

    def request_fields(self, item, fmt):
        for name in ("service_request_id", "status", "service_code", "requested_datetime"):
            _need(_filled(item.get(name)), _("missing field %(field)s") % {"field": name})
        if fmt == "json":
            for name in ("service_request_id", "service_code"):
                _need(isinstance(item[name], str), _("%(field)s is not a string") % {"field": name})
            for name in ("lat", "long"):
                _need(
                    item.get(name) is None
                    or (isinstance(item[name], int | float) and not isinstance(item[name], bool)),
                    _("%(field)s is not a number") % {"field": name},
                )
        _need(
            item["status"] in STATUSES,
            _("status “%(value)s” is not open or closed") % {"value": item["status"]},
        )
        for name in DATE_FIELDS:
            value = item.get(name)
            if _filled(value):
                _need(
                    parse_datetime(value) is not None,
                    _("%(field)s “%(value)s” is not a W3C date-time with a time zone")
                    % {"field": name, "value": value},
                )

    def check_dates(self, fmt):
        now = timezone.now()
        recent = self.document(
            self.get(
                f"requests.{fmt}",
                start_date=w3c(now - timedelta(hours=1)),
                end_date=w3c(now + timedelta(minutes=5)),
            ),
            fmt,
            "service_requests",
        )
        for item in recent:
            self.request_fields(item, fmt)
        ids = {str(i.get("service_request_id")) for i in recent}
        for rid in self.created.values():
            _need(rid in ids, _("the request %(id)s is missing from the last hour") % {"id": rid})
        old = datetime(2001, 1, 1, tzinfo=now.tzinfo)
        past = self.document(
            self.get(f"requests.{fmt}", start_date=w3c(old), end_date=w3c(old + timedelta(days=1))),
            fmt,
            "service_requests",
        )
        for item in past:
            moment = parse_datetime(item.get("requested_datetime"))
            _need(
                moment is not None and old <= moment <= old + timedelta(days=1),
                _("a request from %(when)s answered for 2001-01-01")
                % {"when": item.get("requested_datetime")},
            )
        return _("%(count)s in the last hour") % {"count": len(recent)}

    def check_missing(self, fmt):
        return self.errors(self.get(f"requests/no-such-request-311.{fmt}"), fmt, 404)


def _filled(value) -> bool:
    return value not in (None, "")


def _bool(value):
    if isinstance(value, bool):
        return value
    return {"true": True, "false": False}.get(str(value).strip().lower())


def _true(value) -> bool:
    return _bool(value) is True


def _xml_attribute(element: ET.Element) -> dict:
    out = {c.tag: (c.text or "") for c in element if c.tag != "values"}
    out["values"] = [{c.tag: (c.text or "") for c in value} for value in element.iter("value")]
    return out


def _sample(attribute: dict) -> str:
    values = attribute.get("values") or []
    if attribute.get("datatype") in ("singlevaluelist", "multivaluelist") and values:
        return str(values[0]["key"])
    if attribute.get("datatype") == "number":
        return "1"
    if attribute.get("datatype") == "datetime":
        return w3c(timezone.now())
    return "测试"


def run(base_url, *, api_key, jurisdiction_id=None, service_code=None, lat=None, lon=None):
    """Every check in order; a failed check never stops the ones after it."""
    suite = Suite(
        base_url,
        api_key=api_key,
        jurisdiction_id=jurisdiction_id,
        service_code=service_code,
        lat=lat,
        lon=lon,
    )
    return suite.run()
