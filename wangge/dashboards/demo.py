"""Demo data: the whole of 睢县 with its 20 real townships, plus cases in every state."""

from wangge.cases.models import Case
from wangge.world import build_world


def load_demo(*, stdout=None) -> str:
    world = build_world(townships=20, communities=3, grids_per_community=2)
    return (
        f"{len(world.townships)} townships, {len(world.grids)} grids, "
        f"{len(world.units)} units, {Case.objects.count()} cases"
    )
