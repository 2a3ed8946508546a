"""`wangge token create --user NAME [--name LABEL] [--print]` and `wangge token revoke`.

The token is shown once, on the last line of the output, so a script can take `tail -n 1`;
only its hash is stored. With --print the output is the token alone.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from wangge.accounts.actions import issue_token
from wangge.accounts.models import ApiToken, User, hash_token
from wangge.audit.actions import record_audit


class Command(BaseCommand):
    help = "Issue or revoke API tokens (Authorization: Bearer <token>)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="issue a token for a user")
        create.add_argument("--user", required=True, help="username")
        create.add_argument("--name", default="", help="a label, e.g. the integration's name")
        create.add_argument("--print", action="store_true", help="print only the token")
        revoke = sub.add_parser("revoke", help="revoke tokens")
        which = revoke.add_mutually_exclusive_group(required=True)
        which.add_argument("--prefix", help="the token's first 8 characters (wg_…)")
        which.add_argument("--token", help="the whole token")
        which.add_argument("--user", help="every active token of this user")
        sub.add_parser("list", help="list active tokens (prefixes only)")

    def handle(self, *args, action, **opts):
        getattr(self, f"_{action}")(**opts)

    def _user(self, username: str) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if not user.is_active:
            raise CommandError(f"User {username!r} is not active.")
        return user

    def _create(self, *, user, name, print, **_):
        owner = self._user(user)
        raw = issue_token(owner, name=name, actor=None)
        if not print:
            self.stdout.write(
                f"Token {raw[:8]}… for {owner.username} ({name or 'no label'}); "
                "it is shown once and cannot be recovered:"
            )
        self.stdout.write(raw)

    @transaction.atomic
    def _revoke(self, *, prefix=None, token=None, user=None, **_):
        tokens = ApiToken.objects.filter(revoked_at__isnull=True)
        if prefix:
            tokens = tokens.filter(prefix=prefix)
        elif token:
            tokens = tokens.filter(token_hash=hash_token(token.strip()))
        else:
            tokens = tokens.filter(user=self._user(user))
        found = list(tokens)
        if not found:
            raise CommandError("No active token matches.")
        for t in found:
            t.revoke()
            record_audit(actor=None, action="revoke_token", obj=t, detail={"user": t.user.username})
        self.stdout.write(f"Revoked {len(found)} token(s).")

    def _list(self, **_):
        for t in ApiToken.objects.filter(revoked_at__isnull=True).select_related("user"):
            self.stdout.write(f"{t.prefix}…  {t.user.username}  {t.name}  {t.created_at:%Y-%m-%d}")
