"""A token's user and roles are remembered per process for WANGGE_TOKEN_CACHE_SECONDS: changes
made in this process count at once, changes made elsewhere within that time, and a refused
token is never remembered."""

import pytest
from django.test import Client
from django.utils import timezone

from wangge.accounts import auth
from wangge.accounts.models import ApiToken, Assignment, hash_token


def cases_status(raw: str) -> int:
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/cases").status_code


@pytest.fixture
def clock(monkeypatch):
    """The cache's clock, moved by hand."""
    now = [1000.0]
    monkeypatch.setattr(auth.time, "monotonic", lambda: now[0])
    return now


def test_a_token_revoked_here_is_refused_at_once(world, clock):
    token, raw = ApiToken.issue(world.dispatcher)
    assert cases_status(raw) == 200
    token.revoke()
    assert cases_status(raw) == 401


def test_a_token_revoked_by_another_process_is_refused_once_the_memory_expires(
    world, clock, settings
):
    settings.WANGGE_TOKEN_CACHE_SECONDS = 10
    token, raw = ApiToken.issue(world.dispatcher)
    assert cases_status(raw) == 200
    # Another process writes the revocation: no signal reaches this one.
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    clock[0] += 9
    assert cases_status(raw) == 200
    clock[0] += 2
    assert cases_status(raw) == 401


def test_without_a_memory_every_call_reads_the_token(world, clock, settings):
    settings.WANGGE_TOKEN_CACHE_SECONDS = 0
    token, raw = ApiToken.issue(world.dispatcher)
    assert cases_status(raw) == 200
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    assert cases_status(raw) == 401


def test_a_role_taken_away_here_counts_at_once(world, clock):
    _, raw = ApiToken.issue(world.dispatcher)
    assert cases_status(raw) == 200
    for assignment in Assignment.objects.filter(user=world.dispatcher):
        assignment.is_active = False
        assignment.save()
    assert cases_status(raw) == 403


def test_a_refused_token_is_not_remembered(world, clock):
    raw = "wg_issued-a-moment-later"
    assert cases_status(raw) == 401
    # Stored by another process (no signal here): the refusal must not linger.
    ApiToken.objects.bulk_create(
        [ApiToken(user=world.dispatcher, prefix=raw[:8], token_hash=hash_token(raw))]
    )
    assert cases_status(raw) == 200
