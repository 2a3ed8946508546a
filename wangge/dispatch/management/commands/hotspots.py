"""`wangge hotspots [--csv FILE] [--grid CODE] [--days N] [--top 10] [--json]` (未诉先办)."""

import json
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.dispatch.hotspots import (
    cluster_messages,
    hotspots_for_cases,
    read_votes_csv,
    shorten,
)
from wangge.grids.models import GridCell

TITLE_CHARS = 30


class Command(BaseCommand):
    help = "List the hottest problems: clusters of similar messages ranked by heat."

    def add_arguments(self, parser):
        parser.add_argument(
            "--csv",
            default="",
            metavar="FILE",
            help="read messages from a CSV in the tipdm votes format (留言编号, 留言用户, "
            "留言主题, 留言时间, 留言详情, 反对数, 点赞数) instead of this deployment's cases",
        )
        parser.add_argument(
            "--grid",
            default="",
            metavar="CODE",
            help="cases located in this grid cell and below (default: the whole county)",
        )
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="window in days up to now (cases: default 30; CSV: default all messages, "
            "counted back from the latest)",
        )
        parser.add_argument("--top", type=int, default=10, help="how many to list (default 10)")
        parser.add_argument("--json", dest="as_json", action="store_true", help="print JSON")

    def handle(self, *args, csv, grid, days, top, as_json, **options):
        if days is not None and days < 1:
            raise CommandError(_("The window must be at least one day."))
        if top < 1:
            raise CommandError(_("--top must be at least 1."))
        if csv:
            if grid:
                raise CommandError(_("--grid applies to cases, not to a CSV file."))
            try:
                messages = read_votes_csv(csv)
            except (OSError, ValueError) as exc:
                raise CommandError(str(exc)) from None
            spots = cluster_messages(messages, window_days=days)
        else:
            spots = self.from_cases(grid, days)
        spots = spots[:top]
        if as_json:
            self.stdout.write(json.dumps([h.as_dict() for h in spots], ensure_ascii=False))
            return
        if not spots:
            self.stdout.write(_("No hotspots."))
            return
        self.stdout.write(
            f"{'#':>3} {_('size'):>5} {_('reporters'):>9} {_('likes'):>6} "
            f"{_('growth'):>6} {_('heat'):>6}  {_('representative')}"
        )
        for rank, h in enumerate(spots, 1):
            title = shorten(h.representative_texts[0], TITLE_CHARS)
            self.stdout.write(
                f"{rank:>3} {h.size:>5} {h.distinct_reporters:>9} {h.likes:>6} "
                f"{h.growth:>+6.2f} {h.heat:>6.2f}  {title}"
            )

    def from_cases(self, code, days):
        if code:
            cell = GridCell.objects.filter(code=code).first()
            if cell is None:
                raise CommandError(_("No grid cell has the code %(code)s.") % {"code": code})
        else:
            cell = GridCell.objects.filter(parent__isnull=True).order_by("path").first()
            if cell is None:
                raise CommandError(_("No grid has been set up yet."))
        end = timezone.now()
        return hotspots_for_cases(cell=cell, start=end - timedelta(days=days or 30), end=end)
