"""`wangge open311-key …`: the same command as `open311_key` under the name the docs use
(Django finds commands by file name, and a file name may contain a hyphen)."""

from wangge.open311.management.commands.open311_key import Command

__all__ = ["Command"]
