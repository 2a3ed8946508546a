"""Per-request id: every history row written while serving a request carries it; and a login
redirect that an htmx request would swap into part of a page becomes a whole-page one."""

import contextvars
import uuid
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django_htmx.http import HttpResponseClientRedirect

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def current_request_id() -> str:
    return _request_id.get()


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rid = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex
        token = _request_id.set(rid)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-Id"] = rid
        return response


class HtmxLoginRedirect:
    """An htmx request whose session has ended would get the login page swapped into a table
    or panel. Turn the redirect to the login page into a whole-page redirect (HX-Redirect), back
    to the page the user was on after they log in."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            getattr(request, "htmx", False)
            and response.status_code == 302
            and response.get("Location", "").startswith(str(settings.LOGIN_URL))
        ):
            page = urlsplit(request.htmx.current_url or "/")
            back = page.path + (f"?{page.query}" if page.query else "")
            return HttpResponseClientRedirect(f"{settings.LOGIN_URL}?{urlencode({'next': back})}")
        return response
