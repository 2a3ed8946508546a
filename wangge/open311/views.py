"""Open311 GeoReport v2 under /open311/v2/, every method in `.xml` and `.json`, plus mySociety's
`servicerequestupdates`. Handlers are thin: parse, check the key, call one action, render.

Every refusal is the spec's error document in the requested format, with the HTTP status as
its code: 400 bad input, 403 a missing or revoked api_key, 404 an unknown jurisdiction,
service or request, 413 a body over the limit. Nothing is stored on a refusal.
"""

import re
from collections.abc import Callable
from datetime import datetime, time, timedelta
from functools import wraps
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from wangge.cases.models import DONE_STATES, Case, Category
from wangge.grids.models import GridCell, GridLevel
from wangge.lib.errors import DomainError
from wangge.open311 import actions
from wangge.open311.models import LIST_TYPES, Datatype, Open311Key, ServiceAttribute
from wangge.open311.queries import (
    MAX_REQUESTS,
    listed_requests,
    listed_updates,
    request_row,
    update_row,
)
from wangge.open311.render import document, errors

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-24T00:00:00+08:00"
MAX_SPAN = timedelta(days=90)
MAX_FIELDS = 500
W3C = re.compile(
    r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$", re.IGNORECASE
)


# Field names of wangge's actions as the Open311 client knows them, for error descriptions.
OPEN311_NAMES = {
    "lon": "long",
    "address": "address_string",
    "reporter_phone": "phone",
    "reporter_name": "first_name",
    "title": "description",
}


class Refusal(Exception):
    def __init__(self, status: int, *descriptions):
        self.status = status
        self.descriptions = [str(d) for d in descriptions]


def _parse_pairs(raw: bytes) -> dict[str, list[str]]:
    """Form or query pairs decoded as strict UTF-8: bad bytes are refused, never replaced
    (Django's own parser would replace them silently)."""
    params: dict[str, list[str]] = {}
    parts = [p for p in raw.split(b"&") if p]
    if len(parts) > MAX_FIELDS:
        raise Refusal(400, _("Too many fields."))
    try:
        for part in parts:
            k, _eq, v = part.partition(b"=")
            name = unquote_to_bytes(k.replace(b"+", b" ")).decode("utf-8")
            params.setdefault(name, []).append(
                unquote_to_bytes(v.replace(b"+", b" ")).decode("utf-8")
            )
    except UnicodeDecodeError:
        raise Refusal(400, _("The request is not valid UTF-8.")) from None
    return params


def _params(request) -> dict[str, list[str]]:
    params = _parse_pairs(request.META.get("QUERY_STRING", "").encode("latin-1", "replace"))
    if request.method == "POST":
        content_type = request.META.get("CONTENT_TYPE", "")
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise Refusal(413, _("The request body is too large."))
        try:
            if content_type.startswith("multipart/"):
                body = {k: request.POST.getlist(k) for k in request.POST}
            else:
                body = _parse_pairs(request.body)
        except RequestDataTooBig:
            raise Refusal(413, _("The request body is too large.")) from None
        for k, values in body.items():
            params.setdefault(k, []).extend(values)
    return params


def _one(params: dict, name: str) -> str:
    """An optional argument: empty and absent are the same (spec, "Optional Arguments")."""
    values = params.get(name) or [""]
    return values[-1].strip()


def _county() -> GridCell | None:
    return GridCell.objects.filter(level=GridLevel.COUNTY).order_by("path").first()


def _check_jurisdiction(params: dict) -> None:
    jurisdiction = _one(params, "jurisdiction_id")
    if not jurisdiction:
        return
    county = _county()
    if county is None or jurisdiction != county.code:
        raise Refusal(404, _("jurisdiction_id provided was not found."))


def _key(params: dict) -> Open311Key:
    raw = _one(params, "api_key")
    if not raw:
        raise Refusal(403, _("api_key was not provided."))
    key = actions.active_key(raw)
    if key is None:
        raise Refusal(403, _("api_key is invalid or revoked."))
    return key


def endpoint(*methods: str) -> Callable:
    """Wrap a handler: allowed methods, parameters, jurisdiction, and every refusal rendered
    as the spec's error document in the requested format."""

    def wrap(view):
        @csrf_exempt
        @wraps(view)
        def handler(request, fmt: str = "xml", **kw):
            try:
                if request.method not in methods:
                    raise Refusal(405, _("Method not allowed."))
                params = _params(request)
                _check_jurisdiction(params)
                return view(request, fmt, params, **kw)
            except Refusal as refusal:
                return errors(fmt, refusal.status, *refusal.descriptions)
            except DomainError as error:
                texts = [f"{OPEN311_NAMES.get(k, k)}: {v}" for k, v in error.fields.items()] or [
                    error.text()
                ]
                return errors(fmt, error.status, *texts)

        return handler

    return wrap


# --- discovery and services -----------------------------------------------------------------


@endpoint("GET")
def discovery(request, fmt, params):
    base = request.build_absolute_uri("/open311/v2/")
    return document(
        fmt,
        "discovery",
        {
            "changeset": CHANGESET,
            "contact": _("The county command centre (指挥中心)."),
            "key_service": _("API keys are issued by the command centre's administrator."),
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": base,
                    "changeset": CHANGESET,
                    "type": "production",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        },
    )


def _active_categories():
    return Category.objects.filter(is_active=True).select_related("parent").order_by("code")


@endpoint("GET")
def services(request, fmt, params):
    with_questions = set(ServiceAttribute.objects.values_list("category_id", flat=True).distinct())
    rows = [
        {
            "service_code": c.code,
            "service_name": c.name,
            "description": c.name,
            "metadata": c.pk in with_questions,
            "type": "realtime",
            "keywords": "",
            "group": c.parent.name if c.parent_id else c.name,
        }
        for c in _active_categories()
    ]
    return document(fmt, "services", rows)


def _category(code: str) -> Category:
    category = Category.objects.filter(code=code, is_active=True).first()
    if category is None:
        raise Refusal(404, _("service_code was not found."))
    return category


@endpoint("GET")
def service_definition(request, fmt, params, service_code: str):
    category = _category(service_code)
    attributes = [
        {
            "variable": a.variable,
            "code": a.code,
            "datatype": a.datatype,
            "required": a.required,
            "datatype_description": a.datatype_description,
            "order": a.order,
            "description": a.description,
            **(
                {"values": [{"key": v.get("key"), "name": v.get("name")} for v in a.values]}
                if a.datatype in LIST_TYPES
                else {}
            ),
        }
        for a in category.open311_attributes.order_by("order", "code")
    ]
    return document(
        fmt, "service_definition", {"service_code": category.code, "attributes": attributes}
    )


# --- dates ----------------------------------------------------------------------------------


def parse_w3c(value: str, name: str) -> datetime:
    """A W3C date-time with its zone (Z or ±hh:mm), or a bare date (midnight local time)."""
    if not W3C.match(value):
        raise Refusal(400, _("%(name)s is not a W3C date-time with a time zone.") % {"name": name})
    try:
        parsed = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        raise Refusal(
            400, _("%(name)s is not a W3C date-time with a time zone.") % {"name": name}
        ) from None
    if parsed.tzinfo is None:
        parsed = timezone.make_aware(datetime.combine(parsed.date(), time.min))
    return parsed


def _range(params: dict) -> tuple[datetime, datetime]:
    raw_start, raw_end = _one(params, "start_date"), _one(params, "end_date")
    start = parse_w3c(raw_start, "start_date") if raw_start else None
    end = parse_w3c(raw_end, "end_date") if raw_end else None
    if start is None and end is None:
        end = timezone.now() + timedelta(seconds=1)
    if start is None:
        start = end - MAX_SPAN
    if end is None:
        end = start + MAX_SPAN
    if start > end:
        raise Refusal(400, _("start_date is after end_date."))
    if end - start > MAX_SPAN:
        raise Refusal(400, _("The date range may not span more than 90 days."))
    return start, end


def _csv(params: dict, name: str) -> list[str]:
    return [v.strip() for value in params.get(name, []) for v in value.split(",") if v.strip()]


# --- requests -------------------------------------------------------------------------------


@endpoint("GET", "POST")
def requests_(request, fmt, params):
    if request.method == "POST":
        return _post_request(fmt, params)
    qs = listed_requests()
    ids = _csv(params, "service_request_id")
    if ids:  # overrides every other argument (spec)
        qs = qs.filter(tracking_code__in=ids[:MAX_REQUESTS])
    else:
        start, end = _range(params)
        qs = qs.filter(reported_at__gte=start, reported_at__lte=end)
        codes = _csv(params, "service_code")
        if codes:
            qs = qs.filter(category__code__in=codes)
        statuses = set(_csv(params, "status"))
        if statuses - {"open", "closed"}:
            raise Refusal(400, _("status must be open or closed."))
        if statuses == {"open"}:
            qs = qs.exclude(state__in=DONE_STATES)
        elif statuses == {"closed"}:
            qs = qs.filter(state__in=DONE_STATES)
    rows = [request_row(c) for c in qs.order_by("-reported_at", "-id")[:MAX_REQUESTS]]
    return document(fmt, "service_requests", rows)


@endpoint("GET")
def request_detail(request, fmt, params, service_request_id: str):
    case = listed_requests().filter(tracking_code=service_request_id).first()
    if case is None:
        raise Refusal(404, _("service_request_id was not found."))
    return document(fmt, "service_requests", [request_row(case)])


@endpoint("GET")
def token(request, fmt, params, token: str):
    case = Case.objects.filter(open311__token=token).only("tracking_code").first()
    if case is None:
        raise Refusal(404, _("token was not found."))
    return document(
        fmt, "service_requests", [{"service_request_id": case.tracking_code, "token": token}]
    )


def _float(params: dict, name: str) -> float | None:
    raw = _one(params, name)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Refusal(400, _("%(name)s is not a number.") % {"name": name}) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise Refusal(400, _("%(name)s is not a number.") % {"name": name})
    return value


def _answers(category: Category, params: dict) -> dict:
    """The answers to the category's questions (`attribute[CODE]`), each checked."""
    answers, problems = {}, []
    for attr in category.open311_attributes.filter(variable=True).order_by("order", "code"):
        values = [v.strip() for v in params.get(f"attribute[{attr.code}]", []) if v.strip()]
        if not values:
            if attr.required:
                problems.append(_("attribute[%(code)s] is required.") % {"code": attr.code})
            continue
        if attr.datatype in LIST_TYPES:
            unknown = [v for v in values if v not in attr.choice_keys()]
            if unknown or (attr.datatype == Datatype.SINGLEVALUELIST and len(values) > 1):
                problems.append(
                    _("attribute[%(code)s] is not one of the listed keys.") % {"code": attr.code}
                )
                continue
            answers[attr.code] = values if attr.datatype == Datatype.MULTIVALUELIST else values[0]
            continue
        value = values[-1]
        if attr.datatype == Datatype.NUMBER:
            try:
                float(value)
            except ValueError:
                problems.append(_("attribute[%(code)s] is not a number.") % {"code": attr.code})
                continue
        if attr.datatype == Datatype.DATETIME:
            parse_w3c(value, f"attribute[{attr.code}]")
        if len(value) > 2000:
            problems.append(_("attribute[%(code)s] is too long.") % {"code": attr.code})
            continue
        answers[attr.code] = value
    if problems:
        raise Refusal(400, *problems)
    return answers


def _title(category: Category, description: str) -> str:
    first = description.strip().splitlines()[0].strip() if description.strip() else ""
    return (first[:60] or category.name)[:200]


def _post_request(fmt: str, params: dict):
    key = _key(params)
    code = _one(params, "service_code")
    if not code:
        raise Refusal(400, _("service_code was not provided."))
    category = _category(code)
    lat, lon = _float(params, "lat"), _float(params, "long")
    address, address_id = _one(params, "address_string"), _one(params, "address_id")
    if (lat is None) != (lon is None):
        raise Refusal(400, _("Give both lat and long."))
    if lat is None and not address and not address_id:
        raise Refusal(400, _("A location is required: lat and long, address_string or address_id."))
    email = _one(params, "email")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise Refusal(400, _("email is not an e-mail address.")) from None
    media_url = _one(params, "media_url")
    if media_url:
        try:
            URLValidator(schemes=["http", "https"])(media_url)
        except ValidationError:
            raise Refusal(400, _("media_url is not an http(s) URL.")) from None
    phone = re.sub(r"[\s().]", "", _one(params, "phone"))
    names = " ".join(n for n in (_one(params, "first_name"), _one(params, "last_name")) if n)
    description = _one(params, "description")
    for name, limit in (("device_id", 100), ("account_id", 100), ("address_id", 100)):
        if len(_one(params, name)) > limit:
            raise Refusal(400, _("%(name)s is too long.") % {"name": name})
    if len(address) > 300:
        raise Refusal(400, _("%(name)s is too long.") % {"name": "address_string"})
    answers = _answers(category, params)
    with transaction.atomic():
        case = actions.submit_request(
            key=key,
            category=category,
            title=_title(category, description),
            description=description,
            lon=lon,
            lat=lat,
            address=address,
            address_id=address_id,
            reporter_name=names,
            reporter_phone=phone,
            email=email,
            device_id=_one(params, "device_id"),
            account_id=_one(params, "account_id"),
            media_url=media_url,
            attributes=answers,
        )
    submission = case.open311
    # Created in real time, so the id itself; the spec forbids returning a token beside it.
    row = {
        "service_request_id": case.tracking_code,
        "service_notice": "",
        "account_id": submission.account_id or None,
    }
    return document(fmt, "service_requests", [row], status=201)


# --- mySociety servicerequestupdates ---------------------------------------------------------

UPDATE_STATUSES = {
    "OPEN",
    "CLOSED",
    "FIXED",
    "IN_PROGRESS",
    "ACTION_SCHEDULED",
    "INVESTIGATING",
    "DUPLICATE",
    "NOT_COUNCILS_RESPONSIBILITY",
    "NO_FURTHER_ACTION",
    "INTERNAL_REFERRAL",
    "CLOSED_ELSEWHERE",
}


@endpoint("GET", "POST")
def service_request_updates(request, fmt, params):
    if request.method == "POST":
        return _post_update(fmt, params)
    start, end = _range(params)
    rows = [update_row(e) for e in listed_updates(start, end)[:MAX_REQUESTS]]
    return document(fmt, "service_request_updates", rows)


def _post_update(fmt: str, params: dict):
    key = _key(params)
    request_id, remote_id = _one(params, "service_request_id"), _one(params, "update_id")
    status, description = _one(params, "status").upper(), _one(params, "description")
    missing = [
        _("%(name)s was not provided.") % {"name": n}
        for n, v in (
            ("service_request_id", request_id),
            ("update_id", remote_id),
            ("status", status),
            ("description", description),
        )
        if not v
    ]
    if missing:
        raise Refusal(400, *missing)
    if status not in UPDATE_STATUSES:
        raise Refusal(400, _("status is not a known update status."))
    if len(remote_id) > 100 or len(description) > 5000:
        raise Refusal(400, _("update_id or description is too long."))
    raw_time = _one(params, "updated_datetime")
    updated_at = parse_w3c(raw_time, "updated_datetime") if raw_time else None
    case = listed_requests().filter(tracking_code=request_id).first()
    if case is None:
        raise Refusal(404, _("service_request_id was not found."))
    author = " ".join(n for n in (_one(params, "first_name"), _one(params, "last_name")) if n)
    update, _created = actions.record_partner_update(
        case,
        key=key,
        remote_id=remote_id,
        status=status,
        description=description,
        author=author,
        updated_at=updated_at,
        media_url=_one(params, "media_url"),
    )
    return document(
        fmt, "service_request_updates", [{"update_id": str(update.event_id)}], status=201
    )


@endpoint("GET", "POST")
def not_found(request, fmt, params, rest: str = ""):
    raise Refusal(404, _("No such Open311 method."))
