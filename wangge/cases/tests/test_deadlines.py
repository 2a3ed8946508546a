"""Deadlines: limits by category and priority, colours computed from the clock, pauses."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from wangge.cases.actions import accept_case, dispatch_case, pause_case, resume_case, start_case
from wangge.cases.deadlines import (
    Colour,
    Limits,
    deadline_colour,
    limits_for,
    warn_time,
    with_colour,
)
from wangge.cases.models import Case, DeadlinePolicy, Priority, TimeUnit

SH = ZoneInfo("Asia/Shanghai")
H, D = TimeUnit.WORK_HOURS, TimeUnit.WORK_DAYS


def at(m, d, hh=10, mm=0, y=2026):
    return datetime(y, m, d, hh, mm, tzinfo=SH)


def colours(case: Case, moments: list[datetime]) -> list[tuple[str, str]]:
    """(python colour, SQL colour) at each moment."""
    out = []
    for now in moments:
        case.refresh_from_db()
        sql = with_colour(Case.objects.filter(pk=case.pk), now=now).get().colour
        out.append((deadline_colour(case, now=now), sql))
    return out


def test_limits_come_from_the_nearest_policy_up_the_category_tree(world):
    # 0401 停水 has no policy of its own; its parent 04 水电气暖 has one for normal priority.
    assert limits_for(world.category("0401"), Priority.NORMAL) == Limits(2, H, 2, D)
    # Urgent has no 04 row: the catch-all row answers.
    assert limits_for(world.category("0401"), Priority.URGENT) == Limits(2, H, 2, D)
    assert limits_for(world.category("0201"), Priority.NORMAL) == Limits(4, H, 5, D)
    assert limits_for(None, Priority.EMERGENCY) == Limits(1, H, 8, H)

    DeadlinePolicy.objects.create(
        category=world.category("0401"),
        priority=Priority.NORMAL,
        accept_limit=1,
        accept_unit=H,
        resolve_limit=6,
        resolve_unit=H,
    )
    assert limits_for(world.category("0401"), Priority.NORMAL) == Limits(1, H, 6, H)
    assert limits_for(world.category("0402"), Priority.NORMAL) == Limits(2, H, 2, D)


def test_without_any_policy_the_built_in_fallback_applies(world):
    DeadlinePolicy.objects.all().delete()
    assert limits_for(world.category("0201"), Priority.NORMAL) == Limits(4, H, 5, D)
    assert limits_for(world.category("0201"), Priority.EMERGENCY) == Limits(1, H, 8, H)


def test_dispatch_sets_the_accept_warn_and_due_times_in_working_time(world, report):
    case = report("小区路灯不亮", category="0201")
    case = dispatch_case(case, unit=world.unit("urban"), actor=world.dispatcher, now=at(3, 2))
    # Monday 10:00: accept within 4 working hours, resolve within 5 working days;
    # yellow after 80% of the 40 working hours (32 h: Friday 10:00).
    assert (case.accept_due_at, case.warn_at, case.due_at) == (
        at(3, 2, 14),
        at(3, 6, 10),
        at(3, 9, 10),
    )


def test_dispatch_before_spring_festival_lands_the_due_time_after_it(world, report):
    case = report("停水三天", category="0401")  # 2 working days to resolve
    case = dispatch_case(case, unit=world.unit("water"), actor=world.dispatcher, now=at(2, 13))
    # Fri 13th (1 day to Sat 14th, make-up), then the holiday, then Tue 24th.
    assert case.due_at == at(2, 24)


def test_colour_turns_green_yellow_red_as_time_passes_in_python_and_sql(world, report):
    case = report("小区路灯不亮", category="0201")
    dispatch_case(case, unit=world.unit("urban"), actor=world.dispatcher, now=at(3, 2))
    moments = [at(3, 2, 11), at(3, 6, 9, 59), at(3, 6, 10), at(3, 9, 9, 59), at(3, 9, 10)]
    assert colours(case, moments) == [
        ("green", "green"),
        ("green", "green"),
        ("yellow", "yellow"),
        ("yellow", "yellow"),
        ("red", "red"),
    ]


def test_the_warn_share_is_configurable(world, report, settings):
    settings.WANGGE_WARN_SHARE = 0.5
    case = report("小区路灯不亮", category="0201")
    case = dispatch_case(case, unit=world.unit("urban"), actor=world.dispatcher, now=at(3, 2))
    # Half of 40 working hours after Monday 10:00 is Wednesday 14:00.
    assert case.warn_at == at(3, 4, 14)
    assert colours(case, [at(3, 4, 13, 59), at(3, 4, 14)]) == [
        ("green", "green"),
        ("yellow", "yellow"),
    ]


def test_cases_without_a_running_clock_have_no_colour(world, report):
    new = report("还没派单")
    paused = report("等材料", category="0201")
    paused = dispatch_case(paused, unit=world.unit("urban"), actor=world.dispatcher, now=at(3, 2))
    paused = accept_case(paused, actor=world.urban_handler, now=at(3, 2, 11))
    pause_case(paused, reason="等待产权单位提供材料", actor=world.urban_handler, now=at(3, 3))
    late = at(4, 30)
    assert colours(new, [late]) == [("", "")]
    assert colours(paused, [late]) == [("", "")]


def test_lists_filter_on_the_sql_colour(world, report):
    red = report("早派的", category="0201")
    dispatch_case(red, unit=world.unit("urban"), actor=world.dispatcher, now=at(3, 2))
    green = report("晚派的", category="0201")
    dispatch_case(green, unit=world.unit("urban"), actor=world.dispatcher, now=at(3, 9))
    now = at(3, 9, 11)
    by_colour = {
        c: list(with_colour(Case.objects.all(), now=now).filter(colour=c).values_list("title"))
        for c in (Colour.RED, Colour.YELLOW, Colour.GREEN, Colour.NONE)
    }
    assert by_colour == {"red": [("早派的",)], "yellow": [], "green": [("晚派的",)], "": []}


def test_a_case_paused_two_working_days_has_its_deadlines_moved_by_two_working_days(world, report):
    case = report("小区路灯不亮", category="0201")
    case = dispatch_case(case, unit=world.unit("urban"), actor=world.dispatcher, now=at(3, 2))
    case = accept_case(case, actor=world.urban_handler, now=at(3, 2, 11))
    case = start_case(case, actor=world.urban_handler, now=at(3, 2, 12))
    case = pause_case(case, reason="等待供电公司停电检修", actor=world.urban_handler, now=at(3, 3))
    case = resume_case(case, actor=world.urban_handler, now=at(3, 5))

    assert (case.state, case.paused_at, case.warn_at, case.due_at) == (
        "in_progress",
        None,
        at(3, 10, 10),
        at(3, 11, 10),
    )
    assert [(e.kind, e.data) for e in case.events.filter(kind__in=["pause", "resume"])] == [
        ("pause", {}),
        ("resume", {"paused_hours": 16.0}),
    ]
    # Where it would have been red, it is still green after the pause.
    assert colours(case, [at(3, 9, 10), at(3, 10, 10), at(3, 11, 10)]) == [
        ("green", "green"),
        ("yellow", "yellow"),
        ("red", "red"),
    ]


def test_a_pause_over_national_day_counts_only_the_working_days(world, report):
    case = report("小区路灯不亮", category="0201")
    case = dispatch_case(case, unit=world.unit("urban"), actor=world.dispatcher, now=at(9, 28))
    # Mon 28 Sep + 5 working days: 29th, 30th, (1–7 Oct off) 8th, 9th, make-up Saturday 10th.
    assert case.due_at == at(10, 10)
    case = accept_case(case, actor=world.urban_handler, now=at(9, 28, 11))
    case = pause_case(case, reason="等待材料", actor=world.urban_handler, now=at(9, 30))
    # Paused Wed 30 Sep 10:00 → Fri 9 Oct 10:00: 7 h + 8 Oct + 1 h = 2 working days.
    case = resume_case(case, actor=world.urban_handler, now=at(10, 9))
    # Sunday 11th is an ordinary weekend day: Mon 12th (1), Tue 13th (2).
    assert case.due_at == at(10, 13)


@pytest.mark.parametrize(
    ("paused_from", "resumed_at"),
    [(at(3, 7, 10), at(3, 8, 16)), (at(3, 3, 18), at(3, 4, 8, 30))],
    ids=["weekend", "overnight"],
)
def test_a_pause_outside_working_time_does_not_move_the_deadline(
    world, report, paused_from, resumed_at
):
    case = report("小区路灯不亮", category="0201")
    case = dispatch_case(case, unit=world.unit("urban"), actor=world.dispatcher, now=at(3, 2))
    case = accept_case(case, actor=world.urban_handler, now=at(3, 2, 11))
    due = case.due_at
    case = pause_case(case, reason="等待材料", actor=world.urban_handler, now=paused_from)
    case = resume_case(case, actor=world.urban_handler, now=resumed_at)
    assert case.due_at == due


def test_the_yellow_share_counts_working_time_for_a_deadline_given_by_hand():
    # Friday 16:00 → Tuesday 16:00 is 16 working hours; 80% of them (12 h 48 min) ends on
    # Tuesday at 12:48, not at 80% of the four calendar days.
    assert warn_time(at(3, 6, 16), at(3, 10, 16)) == at(3, 10, 12, 48)
