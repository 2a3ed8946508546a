"""`wangge open311-key create --name NAME --print` and `revoke`."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from wangge.open311.models import Open311Key, hash_key


def _run(*args) -> list[str]:
    out = StringIO()
    call_command("open311-key", *args, stdout=out)
    return out.getvalue().splitlines()


def test_create_prints_the_key_last_and_stores_only_its_hash(db):
    lines = _run("create", "--name", "fixmystreet", "--print")

    key = Open311Key.objects.get()
    assert lines == ["Created key “fixmystreet” (channel fixmystreet).", lines[-1]]
    assert (key.key_hash, key.prefix, key.revoked_at) == (hash_key(lines[-1]), lines[-1][:8], None)
    assert lines[-1] not in str(Open311Key.objects.values_list())


def test_created_key_works_until_revoked(new_request, world):
    raw = _run("create", "--name", "partner-app", "--channel", "合作应用", "--print")[-1]
    assert new_request("json", api_key=raw).status_code == 201

    _run("revoke", "--name", "partner-app")

    assert new_request("json", api_key=raw).status_code == 403
    assert [(k.name, k.channel, k.revoked_at is None) for k in Open311Key.objects.all()] == [
        ("fixmystreet", "fixmystreet.example", True),
        ("partner-app", "合作应用", False),
    ]


@translation.override("en")
def test_underscore_name_and_errors(db):
    out = StringIO()
    call_command("open311_key", "create", "--name", "a", stdout=out)
    assert "--print" in out.getvalue()
    with pytest.raises(CommandError, match="exists already"):
        call_command("open311_key", "create", "--name", "a", stdout=StringIO())
    with pytest.raises(CommandError, match="No such key"):
        call_command("open311_key", "revoke", "--name", "b", stdout=StringIO())
    assert list(Open311Key.objects.values_list("name", flat=True)) == ["a"]
