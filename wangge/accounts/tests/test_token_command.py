"""`wangge token create/revoke`: the printed token authenticates until it is revoked."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from wangge.accounts.models import ApiToken
from wangge.audit.models import AuditEntry


def run(*args) -> list[str]:
    out = StringIO()
    call_command("token", *args, stdout=out)
    return out.getvalue().splitlines()


def test_the_last_line_is_a_token_that_authenticates_until_revoked(world):
    lines = run("create", "--user", "dispatcher", "--name", "12345热线", "--print")
    token = lines[-1]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert (len(lines), token[:3], client.get("/api/v1/cases").status_code) == (1, "wg_", 200)
    stored = ApiToken.objects.get(user=world.dispatcher)
    assert (stored.name, stored.prefix, stored.token_hash != token) == (
        "12345热线",
        token[:8],
        True,
    )

    assert run("revoke", "--prefix", token[:8]) == ["Revoked 1 token(s)."]
    assert client.get("/api/v1/cases").status_code == 401
    assert list(
        AuditEntry.objects.filter(object_type="ApiToken")
        .values_list("action", flat=True)
        .order_by("id")
    ) == ["issue_token", "revoke_token"]


def test_without_print_a_note_comes_first_and_the_token_is_still_last(world):
    lines = run("create", "--user", "grid_worker_a1")
    assert lines[0] == (
        f"Token {lines[-1][:8]}… for grid_worker_a1 (no label); "
        "it is shown once and cannot be recovered:"
    )
    assert Client(HTTP_AUTHORIZATION=f"Bearer {lines[-1]}").get("/api/v1/cases").status_code == 200
    run("revoke", "--user", "grid_worker_a1")
    assert Client(HTTP_AUTHORIZATION=f"Bearer {lines[-1]}").get("/api/v1/cases").status_code == 401


def test_an_unknown_user_gets_no_token(world):
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        run("create", "--user", "nobody", "--print")
    assert ApiToken.objects.count() == 0
