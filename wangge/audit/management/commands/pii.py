"""`wangge pii rotate [--dry-run]`: re-encrypt every stored phone and ID number with the current
`WANGGE_PII_KEY` (the previous keys in `WANGGE_PII_OLD_KEYS` still open the old values), then the
old keys can be dropped. Refuses to write anything if some value opens with no configured key."""

from django.core.management.base import BaseCommand, CommandError

from wangge.audit.rotation import rotate_personal_data


class Command(BaseCommand):
    help = "Re-encrypt personal data with the current WANGGE_PII_KEY."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="what", required=True)
        rotate = sub.add_parser("rotate", help="re-encrypt with the current key")
        rotate.add_argument("--dry-run", action="store_true", help="check only, write nothing")

    def handle(self, *args, what: str, dry_run: bool = False, **options):
        result = rotate_personal_data(dry_run=dry_run)
        if result.unreadable:
            shown = ", ".join(result.unreadable[:10])
            raise CommandError(
                f"{len(result.unreadable)} value(s) open with no configured key (nothing written):"
                f" {shown}. Put the key they were written with in WANGGE_PII_OLD_KEYS."
            )
        verb = "would rewrite" if dry_run else "rewrote"
        self.stdout.write(f"checked {result.checked} value(s), {verb} {result.rewritten}")
