"""`wangge open311-key create --name NAME [--channel LABEL] --print` and `revoke --name NAME`.

The clear key exists only in this command's output: `--print` writes it on the last line, so a
script can take it with `tail -n 1`; the database keeps only its hash.
"""

from django.core.management.base import BaseCommand, CommandError

from wangge.lib.errors import DomainError
from wangge.open311 import actions
from wangge.open311.models import Open311Key


class Command(BaseCommand):
    help = "Create, list or revoke Open311 API keys."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Issue a key for a partner system.")
        create.add_argument("--name", required=True)
        create.add_argument("--channel", default="", help="Label recorded on its cases.")
        create.add_argument("--print", action="store_true", help="Print the key (last line).")
        revoke = sub.add_parser("revoke", help="Refuse a key from now on.")
        revoke.add_argument("--name", required=True)
        sub.add_parser("list", help="Show the keys (never the keys themselves).")

    def handle(self, *args, action, **options):
        try:
            if action == "create":
                key, raw = actions.create_key(name=options["name"], channel=options["channel"])
                self.stdout.write(f"Created key “{key.name}” (channel {key.channel}).")
                if options["print"]:
                    self.stdout.write(raw)
                else:
                    self.stdout.write("Run with --print to show the key; it is shown only once.")
            elif action == "revoke":
                key = actions.revoke_key(name=options["name"])
                self.stdout.write(f"Revoked key “{key.name}” at {key.revoked_at.isoformat()}.")
            else:
                for key in Open311Key.objects.all():
                    state = "revoked" if key.revoked_at else "active"
                    self.stdout.write(f"{key.name}\t{key.channel}\t{key.prefix}…\t{state}")
        except DomainError as error:
            raise CommandError(error.text()) from None
