"""`wangge sweep`: one deadline sweep now (for cron; `wangge worker` also sweeps every round)."""

from django.core.management.base import BaseCommand

from wangge.cases.sweep import sweep


class Command(BaseCommand):
    help = (
        "Record cases not accepted in time, near their deadline or overdue; notify the units "
        "and open a command-centre supervision order for each case that turned red."
    )

    def handle(self, *args, **options):
        result = sweep()
        self.stdout.write(
            f"overdue_accept={result.overdue_accept} warned={result.warned} "
            f"overdue={result.overdue} supervised={result.supervised}"
        )
