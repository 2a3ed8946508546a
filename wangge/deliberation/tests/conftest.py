from datetime import date

import pytest
from django.utils import translation

from wangge.deliberation import actions

DAY = date(2025, 3, 3)


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English (the msgids); Chinese is the translators' to change.
    Requests through the test client still choose their own language."""
    with translation.override("en"):
        yield


@pytest.fixture
def village(world):
    return world.grid_a1.parent  # 社区/村 of grid A1; its secretary is world.secretary_a


@pytest.fixture
def matter(world, village):
    return actions.create_matter(
        village, title="修建村东生产路", summary="硬化村东生产路1.2公里", actor=world.secretary_a
    )


MEETINGS = {
    "propose": {"expected": 5, "present": 5, "votes": (5, 0, 0)},
    "discuss": {"expected": 9, "present": 8, "votes": (7, 1, 0)},
    "review": {"expected": 40, "present": 31, "votes": (29, 1, 1)},
    "resolve": {"expected": 30, "present": 25, "votes": (22, 2, 1)},
}


def record(matter, kind, actor, **overrides):
    """Record `kind` on the matter's current version with plausible values."""
    fields = {"held_on": DAY, "actor": actor}
    if kind in MEETINGS:
        m = MEETINGS[kind]
        fields.update(
            expected=m["expected"],
            present=m["present"],
            votes_for=m["votes"][0],
            votes_against=m["votes"][1],
            votes_abstain=m["votes"][2],
            minutes=f"{kind} 会议记录",
        )
    else:
        fields["public_text"] = f"{kind}：公示内容"
    fields.update(overrides)
    matter.refresh_from_db()
    return actions.record_step(matter, kind=kind, version=matter.version, **fields)
