"""Every API error in one shape: `{"code", "message", "fields"}`, the message in the request's
language (LocaleMiddleware picks it from Accept-Language; Chinese by default).

Domain errors carry their own code and status; the framework's errors (validation, auth, a body
that is not JSON, a body over DATA_UPLOAD_MAX_MEMORY_SIZE) are mapped here so an integration never
sees an HTML page or a traceback.
"""

import json
import logging

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError
from ninja.parser import Parser

from wangge.lib.errors import DomainError, NotAuthenticated, NotFound, PayloadTooLarge

logger = logging.getLogger("wangge.api")

# Pydantic error types → a message a person can act on; anything else gets the generic one.
FIELD_MESSAGES = {
    "missing": _("This field is required."),
    "extra_forbidden": _("This field is not accepted."),
    "float_parsing": _("Enter a number."),
    "float_type": _("Enter a number."),
    "finite_number": _("Enter a number."),
    "int_parsing": _("Enter a whole number."),
    "int_type": _("Enter a whole number."),
    "int_from_float": _("Enter a whole number."),
    "bool_parsing": _("Enter true or false."),
    "bool_type": _("Enter true or false."),
    "string_type": _("Enter text."),
    "string_too_long": _("This text is too long."),
    "string_too_short": _("This field is required."),
    "date_parsing": _("Enter a valid date (YYYY-MM-DD)."),
    "date_from_datetime_parsing": _("Enter a valid date (YYYY-MM-DD)."),
    "datetime_parsing": _("Enter a valid date and time."),
    "datetime_from_date_parsing": _("Enter a valid date and time."),
    "literal_error": _("Choose one of the allowed values."),
    "enum": _("Choose one of the allowed values."),
    "list_type": _("Enter a list."),
    "greater_than_equal": _("This value is too small."),
    "less_than_equal": _("This value is too large."),
}
NOT_VALID = _("This value is not valid.")


class StrictJsonParser(Parser):
    """JSON bodies must be UTF-8; anything else is refused rather than guessed."""

    def parse_body(self, request: HttpRequest):
        return json.loads(request.body.decode("utf-8"))


def error_response(
    api: NinjaAPI, request, *, status: int, code: str, message, fields: dict | None = None
) -> HttpResponse:
    body = {
        "code": code,
        "message": str(message),
        "fields": {k: str(v) for k, v in (fields or {}).items()},
    }
    return api.create_response(request, body, status=status)


def _field_name(loc) -> str:
    # loc is (source, param name, field, …) for schemas, or (source, field) for plain params.
    parts = [str(p) for p in loc[1:]]
    if len(parts) > 1 and loc[0] in ("body", "form", "file"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def install_error_handlers(api: NinjaAPI) -> None:
    def domain(request, exc: DomainError):
        return error_response(
            api, request, status=exc.status, code=exc.code, message=exc.text(), fields=exc.fields
        )

    def validation(request, exc: ValidationError):
        fields: dict = {}
        for err in exc.errors:
            name = _field_name(err.get("loc", ()))
            if err.get("type") in ("model_attributes_type", "dict_type", "model_type"):
                fields.setdefault("body", _("The request body must be a JSON object."))
            else:
                fields.setdefault(name, FIELD_MESSAGES.get(err.get("type"), NOT_VALID))
        return error_response(
            api, request, status=400, code="invalid", message=_("Some fields are not valid."),
            fields=fields,
        )  # fmt: skip

    def http_error(request, exc: HttpError):
        if isinstance(exc, AuthenticationError):
            return domain(request, NotAuthenticated())
        if isinstance(exc, AuthorizationError) or exc.status_code == 403:
            return error_response(
                api, request, status=403, code="csrf",
                message=_("The form has expired (CSRF check failed); reload the page."),
            )  # fmt: skip
        cause = exc.__cause__
        if isinstance(cause, UnicodeDecodeError):
            message, code = _("The request body is not valid UTF-8."), "bad_encoding"
        elif isinstance(cause, ValueError):
            message, code = _("The request body is not valid JSON."), "bad_json"
        else:
            message, code = _("The request could not be carried out."), "bad_request"
        return error_response(api, request, status=exc.status_code, code=code, message=message)

    def too_big(request, exc: RequestDataTooBig):
        return error_response(
            api, request, status=413, code=PayloadTooLarge.code,
            message=_("The request body is too large."),
        )  # fmt: skip

    def not_found(request, exc: Http404):
        return domain(request, NotFound())

    def unexpected(request, exc: Exception):
        logger.exception("API error", exc_info=exc)
        return error_response(
            api, request, status=500, code="server_error",
            message=_("Something went wrong on our side; please try again later."),
        )  # fmt: skip

    api.add_exception_handler(DomainError, domain)
    api.add_exception_handler(ValidationError, validation)
    api.add_exception_handler(HttpError, http_error)
    api.add_exception_handler(RequestDataTooBig, too_big)
    api.add_exception_handler(Http404, not_found)
    api.add_exception_handler(Exception, unexpected)
