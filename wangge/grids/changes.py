"""Changes to the grid tree, for the in-memory indexes built from it (locate, places).

A counter is bumped in this process on every change (and again after its commit, since another
thread may rebuild in between); a stamp read from the table catches changes made by other
processes. An index rebuilds when either differs from what it was built on.
"""

import threading

from django.db import transaction
from django.db.models import Count, Max
from django.db.models.signals import post_delete, post_save

from wangge.grids.models import GridCell

_lock = threading.Lock()
_generation = 0


def generation() -> int:
    return _generation


def changed(**_kwargs) -> None:
    """Mark every index stale; the next lookup rebuilds. Cheap: safe to call often."""
    global _generation
    with _lock:  # += is a read and a write; two threads must not lose one
        _generation += 1


def changed_with_commit(**_kwargs) -> None:
    changed()
    transaction.on_commit(changed)


def stamp() -> tuple:
    """(number of cells, last change): `.update()` callers set updated_at for this."""
    row = GridCell.objects.aggregate(n=Count("id"), last=Max("updated_at"))
    return row["n"], row["last"]


post_save.connect(changed_with_commit, sender=GridCell, dispatch_uid="grids_changed_save")
post_delete.connect(changed_with_commit, sender=GridCell, dispatch_uid="grids_changed_delete")
