"""A limit on how often one client may send a public form (report, rating, wish, comment,
phone code), so that no one floods them: `throttled(request, "report", limit=10, per=3600)`.

Counted per (form, client) in Django's cache, which production keeps in the database
(`DatabaseCache`), so that every server process shares the counts. The window slides: the
count of the current fixed window plus the previous window's count weighted by how much of
it still lies within the last `per` seconds. Two keys per form and client, no list of
timestamps; a client that stops is let through again within `per` seconds.

Counting is not atomic across processes (the database cache reads then writes): two
requests at the same instant may both pass the last free place. For a flood limit that is
close enough, and it needs no table of our own."""

import ipaddress
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import ngettext

# The clock; tests replace it rather than sleep.
clock = time.time


def _networks(entries) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """WANGGE_TRUSTED_PROXIES as networks: plain addresses ("10.0.0.5") or ranges ("10.0.0.0/8")."""
    nets = []
    for entry in entries:
        try:
            nets.append(ipaddress.ip_network(str(entry).strip(), strict=False))
        except ValueError:
            continue  # a typo in the setting trusts nothing, rather than failing every form
    return nets


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_ip(request) -> str:
    """The address the request came from. `X-Forwarded-For` counts only when the direct peer
    is one of `settings.WANGGE_TRUSTED_PROXIES`; it is read from the right, skipping trusted
    proxies, because anything left of the last trusted hop is the client's own say-so."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    trusted = _networks(getattr(settings, "WANGGE_TRUSTED_PROXIES", ()))
    peer = _address(remote)
    if peer is None or not any(peer in net for net in trusted):
        return remote or "unknown"
    hops = [h for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        found = _address(hop)
        if found is None:
            break  # garbage in the chain: stop at the last address we could trust
        if not any(found in net for net in trusted):
            return str(found)
        peer = found
    return str(peer)


def _key(name: str, client: str, window: int) -> str:
    return f"throttle:{name}:{client}:{window}"


def hit(name: str, client: str, *, limit: int, per: int) -> bool:
    """Count one submission of form `name` by `client`; False (and not counted) when the
    client already sent `limit` within the last `per` seconds."""
    now = clock()
    window = int(now // per)
    elapsed = (now - window * per) / per
    current_key = _key(name, client, window)
    counts = cache.get_many([current_key, _key(name, client, window - 1)])
    current = counts.get(current_key, 0)
    previous = counts.get(_key(name, client, window - 1), 0)
    if previous * (1 - elapsed) + current >= limit:
        return False
    # Kept for two windows: while current, then as the previous one.
    if not cache.add(current_key, 1, timeout=2 * per):
        try:
            cache.incr(current_key)
        except ValueError:  # expired between add and incr
            cache.add(current_key, 1, timeout=2 * per)
    return True


def throttled(request, name: str, *, limit: int, per: int) -> bool:
    """True when this client has sent form `name` too often: show the form again with
    `too_many_text(per)`, answer 429 and store nothing. Otherwise the submission is counted."""
    return not hit(name, client_ip(request), limit=limit, per=per)


def too_many_text(per: int) -> str:
    """What a throttled resident reads. After `per` seconds of quiet the window has let go."""
    minutes = max(1, math.ceil(per / 60))
    return ngettext(
        "Too many forms were sent from your connection. Nothing was saved; "
        "please try again in %(minutes)s minute.",
        "Too many forms were sent from your connection. Nothing was saved; "
        "please try again in %(minutes)s minutes.",
        minutes,
    ) % {"minutes": minutes}
