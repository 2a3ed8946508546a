"""The `wangge` console command: Django's management commands under the project's name
(`wangge demo`, `wangge sweep`, `wangge grids import …`, `wangge migrate`)."""

import os
import sys


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wangge.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv if argv is None else argv)
    argv[0] = "wangge"
    execute_from_command_line(argv)
    return 0
