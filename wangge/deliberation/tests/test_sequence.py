"""四议两公开: six steps in one order, each once; quorum and votes decide; a failed vote ends
the round and the matter may be proposed again as a new round."""

import pytest

from wangge.audit.models import AuditEntry
from wangge.deliberation import actions
from wangge.deliberation.models import STEP_ORDER, Matter
from wangge.deliberation.tests.conftest import record
from wangge.lib.errors import Conflict, IllegalTransition, InvalidInput


def _steps(matter):
    return list(matter.steps.values_list("kind", flat=True))


def test_a_matter_passes_the_six_steps_in_order(world, matter):
    for kind in STEP_ORDER:
        record(matter, kind, world.secretary_a)
    matter.refresh_from_db()
    assert matter.state == "completed"
    assert matter.version == 7
    assert _steps(matter) == STEP_ORDER
    resolve = matter.steps.get(kind="resolve")
    assert (resolve.body, resolve.present, resolve.votes_for, resolve.passed) == (
        "representatives_meeting",
        25,
        22,
        True,
    )
    assert resolve.rule["quorum"] == [2, 3, False]
    published = matter.steps.get(kind="publish_result")
    assert (published.recorded_by, published.public_text) == (
        world.secretary_a,
        "publish_result：公示内容",
    )
    assert list(
        AuditEntry.objects.filter(object_type="Matter", object_id=str(matter.pk))
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["deliberation.matter_created"] + [f"deliberation.{k}" for k in STEP_ORDER]


def test_a_skipped_step_is_refused_and_nothing_is_written(world, matter):
    record(matter, "propose", world.secretary_a)
    with pytest.raises(IllegalTransition) as exc:
        record(matter, "review", world.secretary_a)  # 两委商议 skipped
    assert exc.value.text() == (
        "“Party members' assembly review” cannot be recorded yet: the next step is "
        "“Two committees' discussion”."
    )
    matter.refresh_from_db()
    assert (matter.state, matter.version, _steps(matter)) == ("proposed", 2, ["propose"])


def test_an_out_of_order_step_is_refused(world, matter):
    with pytest.raises(IllegalTransition):
        record(matter, "publish_resolution", world.secretary_a)
    matter.refresh_from_db()
    assert (matter.state, matter.version, _steps(matter)) == ("new", 1, [])


def test_a_step_cannot_be_recorded_twice(world, matter):
    record(matter, "propose", world.secretary_a)
    record(matter, "discuss", world.secretary_a)
    with pytest.raises(IllegalTransition) as exc:
        record(matter, "propose", world.secretary_a)
    assert exc.value.text() == "“Party branch proposal” has already been recorded."
    assert _steps(matter) == ["propose", "discuss"]


def test_a_stale_version_is_refused_as_changed_meanwhile(world, matter):
    stale = Matter.objects.get(pk=matter.pk)
    record(matter, "propose", world.secretary_a)
    with pytest.raises(Conflict) as exc:
        actions.record_step(
            stale,
            kind="propose",
            version=stale.version,
            held_on=stale.created_at.date(),
            expected=5,
            present=5,
            minutes="again",
            actor=world.grid_worker_a1,
        )
    assert exc.value.code == "changed_meanwhile"
    assert list(matter.steps.values_list("recorded_by", flat=True)) == [world.secretary_a.pk]


@pytest.mark.parametrize(
    ("kind", "expected", "present", "message"),
    [
        # 党员大会: more than half of the party members. 20 of 40 is not more than half.
        (
            "review",
            40,
            20,
            "No quorum: 20 of 40 present; the Party members' assembly needs more than 1/2 of "
            "its members.",
        ),
        # 村民代表会议: at least two thirds of the representatives. 19 of 30 is less.
        (
            "resolve",
            30,
            19,
            "No quorum: 19 of 30 present; the Villagers' representatives' meeting needs at "
            "least 2/3 of its members.",
        ),
    ],
)
def test_a_meeting_without_quorum_is_refused(world, matter, kind, expected, present, message):
    for earlier in STEP_ORDER[: STEP_ORDER.index(kind)]:
        record(matter, earlier, world.secretary_a)
    matter.refresh_from_db()
    before = (matter.state, matter.version)
    with pytest.raises(InvalidInput) as exc:
        record(matter, kind, world.secretary_a, expected=expected, present=present, votes_for=1)
    assert exc.value.text() == message
    matter.refresh_from_db()
    assert (matter.state, matter.version) == before
    assert kind not in _steps(matter)


def test_quorum_thresholds_are_data(world, matter):
    from wangge.deliberation.models import MeetingRule

    MeetingRule.objects.update_or_create(
        body="representatives_meeting",
        defaults={"quorum_numerator": 1, "quorum_denominator": 2, "quorum_strict": True},
    )
    for earlier in STEP_ORDER[:3]:
        record(matter, earlier, world.secretary_a)
    step = record(matter, "resolve", world.secretary_a, expected=30, present=19, votes_for=12)
    assert (step.passed, step.rule["quorum"]) == (True, [1, 2, True])


def test_exactly_two_thirds_of_representatives_is_a_quorum_and_the_villagers_meeting_differs(
    world, matter
):
    for earlier in STEP_ORDER[:3]:
        record(matter, earlier, world.secretary_a)
    step = record(matter, "resolve", world.secretary_a, expected=30, present=20, votes_for=11)
    assert (step.body, step.passed) == ("representatives_meeting", True)


def test_a_failed_vote_ends_the_round_and_a_new_round_starts_from_the_proposal(world, matter):
    for earlier in STEP_ORDER[:3]:
        record(matter, earlier, world.secretary_a)
    # 25 present: 12 for is not more than half.
    step = record(
        matter, "resolve", world.secretary_a, votes_for=12, votes_against=10, votes_abstain=3
    )
    matter.refresh_from_db()
    assert (step.passed, matter.state) == (False, "rejected")
    with pytest.raises(IllegalTransition) as exc:
        record(matter, "publish_resolution", world.secretary_a)
    assert exc.value.text() == (
        "This round was rejected by a vote; propose the matter again as a new round."
    )

    second = actions.repropose_matter(matter, actor=world.secretary_a)
    assert (second.round, second.previous, second.state, second.title) == (
        2,
        matter,
        "new",
        "修建村东生产路",
    )
    with pytest.raises(Conflict):
        actions.repropose_matter(matter, actor=world.grid_worker_a1)
    record(second, "propose", world.secretary_a)
    second.refresh_from_db()
    assert second.state == "proposed"
    assert _steps(matter) == STEP_ORDER[:4]


def test_only_a_rejected_matter_is_proposed_again(world, matter):
    with pytest.raises(IllegalTransition):
        actions.repropose_matter(matter, actor=world.secretary_a)
    assert Matter.objects.filter(village=matter.village).count() == 1


def test_votes_cannot_exceed_those_present_and_the_review_needs_a_vote(world, matter):
    record(matter, "propose", world.secretary_a)
    with pytest.raises(InvalidInput) as exc:
        record(matter, "discuss", world.secretary_a, votes_for=8, votes_against=1)
    assert exc.value.text() == "9 votes cast but only 8 present."
    record(matter, "discuss", world.secretary_a)
    with pytest.raises(InvalidInput) as exc:
        record(
            matter,
            "review",
            world.secretary_a,
            votes_for=None,
            votes_against=None,
            votes_abstain=None,
        )
    assert exc.value.fields == {"votes_for": "This field is required."}
    assert _steps(matter) == ["propose", "discuss"]
