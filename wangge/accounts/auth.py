"""How the JSON API knows who is calling: a bearer token (`Authorization: Bearer wg_…`) for
integrations and scripts, or the logged-in session of the web pages, which must then pass the
CSRF check like any form post."""

from django.conf import settings
from django.http import HttpRequest
from ninja.errors import AuthorizationError
from ninja.security import HttpBearer
from ninja.security.apikey import APIKeyCookie
from ninja.utils import check_csrf

from wangge.accounts.models import ApiToken


class BearerToken(HttpBearer):
    """An `ApiToken`: only its hash is stored; a revoked token or inactive user is refused."""

    def authenticate(self, request: HttpRequest, token: str):
        user = ApiToken.user_for(token.strip()) if token else None
        if user is not None:
            # Code that reads request.user (audit, request logs) sees the token's owner.
            request.user = user
        return user


class SessionWithCsrf(APIKeyCookie):
    """The Django session of the web pages. Unsafe methods must carry the CSRF token; the check
    runs only for a logged-in session, so a call with no credentials still answers 401."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest):
        if not request.user.is_authenticated:
            return None
        if check_csrf(request) is not None:
            raise AuthorizationError()
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key):
        return request.user if request.user.is_authenticated else None


api_auth = [BearerToken(), SessionWithCsrf()]
