"""`wangge grids import FILE.geojson` and `wangge grids export [FILE|-]`."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from wangge.accounts.models import User
from wangge.grids import actions
from wangge.grids.geo import GridFileInvalid
from wangge.grids.models import GridCell


class Command(BaseCommand):
    help = "Import or export the grid tree (网格) as a GeoJSON FeatureCollection."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        imp = sub.add_parser(
            "import",
            help="create or update cells from a GeoJSON file; checks everything first and "
            "stores nothing if any feature has a problem",
        )
        imp.add_argument("file", help="a .geojson file, or - for standard input")
        imp.add_argument(
            "--overlap-tolerance",
            type=float,
            default=0.01,
            help="largest allowed overlap of two sibling cells, as a share of the smaller "
            "one's area (default 0.01 = 1%%)",
        )
        imp.add_argument(
            "--containment-metres",
            type=float,
            default=1.0,
            help="how far (metres) a cell may stick out of its parent (default 1)",
        )
        imp.add_argument("--dry-run", action="store_true", help="check only, store nothing")
        imp.add_argument("--actor", default="", help="username recorded in the audit log")
        exp = sub.add_parser("export", help="write the grid tree as GeoJSON")
        exp.add_argument("file", nargs="?", default="-", help="output file, or - (default)")
        exp.add_argument("--root", default="", help="export only this cell's subtree (a code)")

    def handle(self, *args, subcommand, **options):
        if subcommand == "import":
            self.import_(**options)
        else:
            self.export(**options)

    def import_(self, *, file, overlap_tolerance, containment_metres, dry_run, actor, **options):
        try:
            if file == "-":
                data = json.load(sys.stdin)
            else:
                with open(file, encoding="utf-8") as fh:
                    data = json.load(fh)
        except (OSError, ValueError) as exc:
            raise CommandError(
                _("Cannot read %(file)s: %(error)s") % {"file": file, "error": exc}
            ) from None
        user = None
        if actor:
            user = User.objects.filter(username=actor).first()
            if user is None:
                raise CommandError(_("No user named %(name)s.") % {"name": actor})
        limits = {"overlap_tolerance": overlap_tolerance, "containment_metres": containment_metres}
        try:
            if dry_run:
                nodes, problems = actions.check_grid_file(data, **limits)
                if problems:
                    raise GridFileInvalid(problems)
                self.stdout.write(_("%(n)s features, no problems.") % {"n": len(nodes)})
                return
            summary = actions.import_grid_file(data, actor=user, **limits)
        except GridFileInvalid as exc:
            for problem in exc.problems:
                self.stderr.write(str(problem))
            raise CommandError(
                ngettext(
                    "%(n)s problem; nothing was imported.",
                    "%(n)s problems; nothing was imported.",
                    len(exc.problems),
                )
                % {"n": len(exc.problems)}
            ) from None
        self.stdout.write(
            _("Imported: %(created)s created, %(updated)s updated, %(moved)s moved, ")
            % vars(summary)
            + _("%(unchanged)s unchanged.") % vars(summary)
        )

    def export(self, *, file, root, **options):
        cell = None
        if root:
            cell = GridCell.objects.filter(code=root).first()
            if cell is None:
                raise CommandError(_("No cell with code %(code)s.") % {"code": root})
        data = actions.export_grid(cell)
        # One feature per line: diffs between two exports stay readable.
        lines = [json.dumps(f, ensure_ascii=False) for f in data["features"]]
        text = '{"type": "FeatureCollection", "features": [\n' + ",\n".join(lines) + "\n]}\n"
        if file == "-":
            self.stdout.write(text, ending="")
        else:
            with open(file, "w", encoding="utf-8") as fh:
                fh.write(text)
            self.stderr.write(
                _("%(n)s cells written to %(file)s") % {"n": len(lines), "file": file}
            )
