"""`wangge registry import FILE --grid CODE [--only-clean] [--dry-run] [--json]` and
`wangge registry export --grid CODE [--out FILE.csv] [--clear --purpose WHY --user NAME]`.

Import checks the whole file first and names every bad row; it writes nothing while a row is bad
unless `--only-clean` asks it to write the good rows. Export masks ID and phone numbers unless
`--clear` (then a purpose and the user it is done for are required, and each read is logged)."""

import csv
import json
import sys

from django.core.management.base import BaseCommand, CommandError

from wangge.accounts.models import User
from wangge.grids.models import GridCell
from wangge.lib.errors import InvalidInput
from wangge.people.actions import export_registry, import_registry
from wangge.people.importing import read_table
from wangge.people.models import Resident


class Command(BaseCommand):
    help = "Import or export the household registry of a grid subtree."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="what", required=True)
        imp = sub.add_parser("import", help="households and residents from CSV or .xlsx")
        imp.add_argument("file")
        imp.add_argument("--grid", required=True, help="code of the grid the file belongs to")
        imp.add_argument("--only-clean", action="store_true", help="write the good rows anyway")
        imp.add_argument("--dry-run", action="store_true", help="check only")
        imp.add_argument("--json", action="store_true", help="print the report as JSON")
        exp = sub.add_parser("export", help="residents as CSV (masked unless --clear)")
        exp.add_argument("--grid", required=True)
        exp.add_argument("--out", help="file to write (default: standard output)")
        exp.add_argument("--clear", action="store_true", help="clear ID and phone numbers")
        exp.add_argument("--purpose", default="", help="why the clear numbers are needed")
        exp.add_argument("--user", help="who the export is for (recorded)")

    def _grid(self, code: str) -> GridCell:
        cell = GridCell.objects.filter(code=code).first()
        if cell is None:
            raise CommandError(f"No grid with code {code}.")
        return cell

    def handle(self, *args, what: str, **o):
        if what == "import":
            self._import(**o)
        else:
            self._export(**o)

    def _import(self, *, file, grid, only_clean, dry_run, json: bool, **_):
        try:
            table = read_table(file)
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        report = import_registry(
            table, root=self._grid(grid), actor=None, only_clean=only_clean, dry_run=dry_run
        )
        if json:
            self.stdout.write(_dumps(report.as_dict()))
        else:
            for row, message in report.problems:
                self.stdout.write(f"row {row}: {message}")
            done = "written" if report.written else "NOT written"
            self.stdout.write(
                f"{report.rows} row(s): {report.households_created} household(s) and"
                f" {report.residents_created} resident(s) added, {report.residents_updated}"
                f" updated, {report.skipped} skipped; {done}"
            )
        if report.problems and not report.written and not dry_run:
            raise CommandError("Nothing was imported: fix the rows above or use --only-clean.")

    def _export(self, *, grid, out, clear, purpose, user, **_):
        actor = None
        if clear:
            actor = User.objects.filter(username=user or "").first()
            if actor is None:
                raise CommandError("--clear needs --user NAME: whom the clear numbers are for.")
        cell = self._grid(grid)
        residents = Resident.objects.filter(
            household__cell__path__startswith=cell.path, moved_out_at__isnull=True
        ).select_related("household__cell")
        try:
            rows = export_registry(residents, actor=actor, clear=clear, purpose=purpose)
        except InvalidInput as exc:  # the missing purpose
            detail = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
            raise CommandError(f"{exc.text()} {detail}") from exc
        if not out:
            csv.writer(sys.stdout).writerows(rows)
            return
        with open(out, "w", newline="", encoding="utf-8-sig") as stream:  # Excel reads the BOM
            csv.writer(stream).writerows(rows)


def _dumps(data) -> str:
    return json.dumps(data, ensure_ascii=False)
