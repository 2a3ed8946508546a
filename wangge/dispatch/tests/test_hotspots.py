"""未诉先办 hotspots: repeats of one problem clustered and ranked by heat."""

import json
from datetime import datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from wangge.cases.actions import close_case
from wangge.dispatch.hotspots import (
    Message,
    cluster_messages,
    heat_of,
    hotspots_for_cases,
    parse_time,
    read_votes_csv,
    reporter_key,
)

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "hotspot_sample.csv"
LAMPS = ["1001", "1002", "1003", "1004", "1005"]  # 幸福里小区路灯不亮, all in the last fortnight
NIGHT_MARKET = ["1011", "1012", "1013", "1014", "1015"]  # 滨河路夜市噪音
LIFT = ["1041", "1042", "1043", "1044"]  # 翠湖花园电梯故障
RUBBISH = ["1031", "1032", "1033", "1034"]  # 光明街垃圾站臭味; one reporter wrote twice
SCHOOL_GATE = ["1021", "1022", "1023", "1024"]  # 实验小学门口拥堵
MANHOLE = ["1051", "1052", "1053"]  # 建设路井盖缺失, in January: old and quiet
NOISE = [str(i) for i in range(1061, 1073)]


def test_the_sample_s_repeated_problems_are_the_clusters_hottest_first():
    spots = cluster_messages(read_votes_csv(SAMPLE))
    assert [h.member_ids for h in spots] == [
        LAMPS,
        NIGHT_MARKET,
        LIFT,
        RUBBISH,
        SCHOOL_GATE,
        MANHOLE,
    ]
    assert [(h.size, h.distinct_reporters, h.likes, h.growth) for h in spots] == [
        (5, 5, 50, 1.0),
        (5, 5, 21, 0.6),
        (4, 4, 15, 0.0),
        (4, 3, 6, 0.0),
        (4, 4, 10, -0.5),
        (3, 3, 1, -1.0),
    ]
    lamps = spots[0]
    assert lamps.representative_texts[0] == "幸福里小区路灯不亮"
    assert lamps.top_terms[0] == "幸福里小区路灯不亮"
    assert len(lamps.representative_ids) == 3
    assert set(lamps.representative_ids) <= set(LAMPS)


def test_one_off_messages_form_no_cluster():
    messages = read_votes_csv(SAMPLE)
    clustered = {i for h in cluster_messages(messages) for i in h.member_ids}
    assert clustered.isdisjoint(NOISE)
    only_noise = [m for m in messages if m.id in NOISE]
    assert cluster_messages(only_noise) == []


def test_a_window_leaves_older_messages_out():
    messages = read_votes_csv(SAMPLE)
    spots = cluster_messages(messages, now=datetime(2024, 3, 31), window_days=21)
    # From 10 March on, the lift, the rubbish and the school gate keep two reports each: too few.
    # The night market had three reports before 20 March noon and two after: (2 - 3) / 5.
    assert [(h.member_ids, h.growth) for h in spots] == [(LAMPS, 1.0), (NIGHT_MARKET, -0.2)]


def test_min_size_two_lets_pairs_through_and_singletons_never():
    messages = [
        Message(1, "桥头路灯不亮", datetime(2024, 1, 1), "a"),
        Message(2, "桥头路灯不亮了", datetime(2024, 1, 2), "b"),
        Message(3, "咨询医保报销", datetime(2024, 1, 3), "c"),
    ]
    assert cluster_messages(messages) == []
    assert [h.member_ids for h in cluster_messages(messages, min_size=2)] == [[1, 2]]
    assert [h.member_ids for h in cluster_messages(messages, min_size=1)] == [[1, 2]]


def _repeats(first_id, n, *, title, start, step, likes, cells):
    return [
        Message(
            id=first_id + i,
            text=f"{title}，请尽快处理",
            title=title,
            created_at=start + step * i,
            reporter=f"r{first_id + i}",
            likes=likes,
            cell_code=cells[i % len(cells)],
        )
        for i in range(n)
    ]


def test_heat_ranks_a_big_liked_growing_cluster_above_a_small_old_one():
    now = datetime(2024, 6, 30, 12)
    growing = _repeats(
        100,
        6,
        title="东风路积水严重",
        start=now - timedelta(days=10),
        step=timedelta(days=1),
        likes=5,
        cells=["g1", "g2", "g3"],
    )
    old = _repeats(
        200,
        3,
        title="西湖公园厕所无人打扫",
        start=now - timedelta(days=29),
        step=timedelta(hours=1),
        likes=0,
        cells=["g1"],
    )
    spots = cluster_messages(old + growing, now=now, window_days=30)
    assert [(h.member_ids, h.likes, h.spread, h.growth) for h in spots] == [
        ([100, 101, 102, 103, 104, 105], 30, 3, 1.0),
        ([200, 201, 202], 0, 1, -1.0),
    ]
    assert spots[0].heat == heat_of(size=6, reporters=6, likes=30, spread=3, growth=1.0)
    assert spots[0].heat > spots[1].heat


def test_heat_formula_weighs_each_part_as_documented():
    # (ln 7 + ln 5 + 0.5 ln 31 + 0.5 ln 3) × (1 + 0.5 × 0.5)
    assert heat_of(size=6, reporters=4, likes=30, spread=2, growth=0.5) == 7.2771
    # the same cluster all old counts half, all new half as much again
    assert heat_of(size=6, reporters=4, likes=30, spread=2, growth=-1.0) == 2.9108
    assert heat_of(size=6, reporters=4, likes=30, spread=2, growth=1.0) == 8.7325


def test_the_csv_reader_parses_both_time_formats_and_strips_whitespace():
    by_id = {m.id: m for m in read_votes_csv(SAMPLE)}
    assert len(by_id) == 37
    first, third = by_id["1001"], by_id["1003"]
    assert (first.title, first.created_at, first.reporter, first.likes) == (
        "幸福里小区路灯不亮",
        datetime(2024, 3, 20, 19, 5, 11),
        "U01",
        12,
    )
    assert first.text == (
        "幸福里小区路灯不亮\n幸福里小区3号楼到5号楼之间的路灯已经不亮半个月了，晚上老人出门很危险。"
    )
    assert (third.created_at, third.text) == (
        datetime(2024, 3, 25, 21, 30),
        "反映幸福里小区路灯不亮的问题\n幸福里小区路灯不亮，孩子晚上放学回家看不清路。",
    )


def test_parse_time_refuses_what_it_cannot_read():
    assert parse_time(" 2019/2/28 11:25:05 ") == datetime(2019, 2, 28, 11, 25, 5)
    assert parse_time("2019-12-20 14:06:19") == datetime(2019, 12, 20, 14, 6, 19)
    with pytest.raises(ValueError, match="unknown time format"):
        parse_time("28.02.2019")


def test_reporters_are_counted_by_a_keyed_hash_never_the_phone():
    key = reporter_key(phone="138-0013-8000")
    assert key == reporter_key(phone="13800138000")
    assert key != reporter_key(phone="13800138001")
    assert "13800138000" not in key
    assert reporter_key(user_id=7) == "user:7"
    assert reporter_key(phone="") is None


def _lamp_cases(report, cell, now, phones):
    titles = ["幸福里小区路灯不亮", "幸福里小区路灯坏了没人修", "幸福里小区晚上路灯不亮"]
    return [
        report(
            title,
            cell=cell,
            category="0201",
            now=now - timedelta(days=i + 1),
            reporter_phone=phone,
        ).pk
        for i, (title, phone) in enumerate(zip(titles, phones, strict=True))
    ]


def test_hotspots_for_cases_groups_similar_cases_in_the_subtree_only(world, report):
    now = timezone.now()
    town_a = world.grid_a1.parent.parent
    assert not world.grid_b1.path.startswith(town_a.path)  # given: B1 lies outside
    inside = _lamp_cases(report, world.grid_a1, now, ["13800138000", "13800138000", ""])
    report("幸福里小区路灯不亮了", cell=world.grid_a1, now=now + timedelta(days=1))  # after end
    report("社区健身器材损坏", cell=world.grid_a1, now=now - timedelta(days=2))
    _lamp_cases(report, world.grid_b1, now, ["", "", ""])  # another township

    spots = hotspots_for_cases(cell=town_a, start=now - timedelta(days=30), end=now)

    assert [(h.member_ids, h.distinct_reporters, h.spread, h.category) for h in spots] == [
        (sorted(inside), 2, 1, "0201")
    ]
    everywhere = hotspots_for_cases(cell=world.county, start=now - timedelta(days=30), end=now)
    assert [h.size for h in everywhere] == [6]
    assert everywhere[0].spread == 2


def test_the_command_lists_the_sample_s_hottest_problem_first():
    out = StringIO()
    with translation.override("en"):
        call_command("hotspots", "--csv", str(SAMPLE), "--top", "2", stdout=out)
    assert out.getvalue().splitlines() == [
        "  #  size reporters  likes growth   heat  representative",
        "  1     5         5     50  +1.00   8.32  幸福里小区路灯不亮",
        "  2     5         5     21  +0.60   6.67  投诉滨河路夜市噪音扰民",
    ]


def test_the_command_prints_json():
    out = StringIO()
    call_command("hotspots", "--csv", str(SAMPLE), "--top", "1", "--json", stdout=out)
    [top] = json.loads(out.getvalue())
    assert (top["member_ids"], top["likes"], top["heat"]) == (LAMPS, 50, 8.3241)


def test_the_command_reads_the_deployment_s_cases_in_a_grid(world, report):
    now = timezone.now()
    _lamp_cases(report, world.grid_a1, now, ["13800138000", "13900139000", ""])
    out = StringIO()
    with translation.override("en"):
        call_command("hotspots", "--grid", world.grid_a1.code, "--days", "7", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[1:] == ["  1     3         3      0  +1.00   4.68  幸福里小区路灯不亮"]


def test_hotspots_for_cases_keeps_old_open_cases_and_drops_old_closed_ones(world, report):
    now = timezone.now()
    recent = _lamp_cases(report, world.grid_a1, now, ["", "", ""])
    still_open = report(
        "幸福里小区路灯不亮没人管", cell=world.grid_a1, now=now - timedelta(days=40)
    )
    closed = report("幸福里小区路灯又不亮了", cell=world.grid_a1, now=now - timedelta(days=41))
    close_case(closed, actor=world.dispatcher, reason="重复诉求", now=now - timedelta(days=39))

    spots = hotspots_for_cases(cell=world.grid_a1, start=now - timedelta(days=30), end=now)

    # the old open case counts in the earlier half: 3 recent of 4
    assert [(h.member_ids, h.growth) for h in spots] == [(sorted([*recent, still_open.pk]), 0.5)]


def test_the_command_refuses_an_unknown_grid_and_a_grid_with_a_csv(world):
    out = StringIO()
    with translation.override("en"):
        with pytest.raises(CommandError, match="No grid cell has the code 999"):
            call_command("hotspots", "--grid", "999", stdout=out)
        with pytest.raises(CommandError, match="--grid applies to cases"):
            call_command("hotspots", "--csv", str(SAMPLE), "--grid", "999", stdout=out)
    assert out.getvalue() == ""


def test_the_command_says_so_when_nothing_is_hot(world):
    out = StringIO()
    with translation.override("en"):
        call_command("hotspots", "--grid", world.grid_b1.code, stdout=out)
    assert out.getvalue() == "No hotspots.\n"
