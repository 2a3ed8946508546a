"""How the JSON API knows who is calling: a bearer token (`Authorization: Bearer wg_…`) for
integrations and scripts, or the logged-in session of the web pages, which must then pass the
CSRF check like any form post.

A token's user and roles are remembered in this process for `WANGGE_TOKEN_CACHE_SECONDS`
(default 10): integrations call many times a second and the lookup is the largest cost of a
small request. A change made in this process (revoking a token, changing a user or their
assignments) forgets everything at once; one made by another process is seen within that time.
A refused token is never remembered, so a new one works at once.
"""

import copy
import threading
import time

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest
from ninja.errors import AuthorizationError
from ninja.security import HttpBearer
from ninja.security.apikey import APIKeyCookie
from ninja.utils import check_csrf

from wangge.accounts.models import ApiToken, Assignment, User, hash_token

_MAX_REMEMBERED = 10_000
_remembered: dict[str, tuple[float, User]] = {}
_lock = threading.Lock()


def forget_tokens(**_kwargs) -> None:
    with _lock:
        _remembered.clear()


for _model in (ApiToken, Assignment, User):
    post_save.connect(forget_tokens, sender=_model, dispatch_uid=f"forget_tokens_{_model.__name__}")
    post_delete.connect(forget_tokens, sender=_model, dispatch_uid=f"forget_del_{_model.__name__}")


def user_for_token(raw: str) -> User | None:
    """The live token's active user with their assignments loaded, or None. Each caller gets
    its own copy of the user: requests in other threads must not see its attributes change."""
    ttl = settings.WANGGE_TOKEN_CACHE_SECONDS
    if ttl <= 0:
        return ApiToken.user_for(raw)
    key, now = hash_token(raw), time.monotonic()
    hit = _remembered.get(key)
    if hit is not None and hit[0] > now:
        return copy.copy(hit[1])
    user = ApiToken.user_for(raw)
    if user is None:
        return None
    with _lock:
        if len(_remembered) >= _MAX_REMEMBERED:
            _remembered.clear()
        _remembered[key] = (now + ttl, user)
    return copy.copy(user)


class BearerToken(HttpBearer):
    """An `ApiToken`: only its hash is stored; a revoked token or inactive user is refused."""

    def authenticate(self, request: HttpRequest, token: str):
        user = user_for_token(token.strip()) if token else None
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
