"""The working-day calendar: State Council holidays and 调休 make-up days, working hours."""

import csv
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ImproperlyConfigured

from wangge.lib.workdays import BUILTIN, calendar

SH = ZoneInfo("Asia/Shanghai")
WEEKDAYS = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]


def at(y, m, d, hh=10, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=SH)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(n) for n in range((last - first).days + 1)]


def test_five_working_days_before_spring_festival_2026_count_the_makeup_saturday():
    # Thu 12th → Fri 13th (1), make-up Sat 14th (2), 15th–23rd off, Tue 24th (3) … Thu 26th (5)
    assert calendar().add_working_days(at(2026, 2, 12), 5) == at(2026, 2, 26)
    assert calendar().add_working_days(at(2026, 2, 13), 1) == at(2026, 2, 14)


def test_spring_festival_2026_is_off_and_its_makeup_saturdays_are_working_days():
    off = days(date(2026, 2, 15), date(2026, 2, 23))
    assert [d for d in off if calendar().is_working_day(d)] == []
    assert [calendar().is_working_day(d) for d in (date(2026, 2, 14), date(2026, 2, 28))] == [
        True,
        True,
    ]
    assert calendar().is_working_day(date(2026, 2, 24)) is True


def test_national_day_2025_sunday_28_september_works_and_1_to_8_october_are_off():
    assert calendar().is_working_day(date(2025, 9, 28)) is True  # 调休 Sunday
    assert calendar().is_working_day(date(2025, 9, 27)) is False  # an ordinary Saturday
    october = days(date(2025, 10, 1), date(2025, 10, 12))
    assert [d.day for d in october if calendar().is_working_day(d)] == [9, 10, 11]
    # One working day from Tuesday 30 September is Thursday 9 October.
    assert calendar().add_working_days(at(2025, 9, 30), 1) == at(2025, 10, 9)
    # From Friday 26 September the make-up Sunday counts.
    assert calendar().add_working_days(at(2025, 9, 26), 1) == at(2025, 9, 28)


def test_spring_festival_2025_makeup_sunday_and_saturday():
    assert calendar().is_working_day(date(2025, 1, 26)) is True
    assert calendar().is_working_day(date(2025, 2, 8)) is True
    off = days(date(2025, 1, 28), date(2025, 2, 4))
    assert [d for d in off if calendar().is_working_day(d)] == []
    # Mon 27 Jan 10:00 + 2 working days: 28 Jan–4 Feb are off, so Wed 5th (1), Thu 6th (2).
    assert calendar().add_working_days(at(2025, 1, 27), 2) == at(2025, 2, 6)


def test_working_hours_skip_the_night_and_the_weekend():
    cal = calendar()
    # Friday 15:00 + 4 working hours: 2 on Friday, 2 on Monday morning.
    assert cal.add_working_hours(at(2026, 3, 6, 15), 4) == at(2026, 3, 9, 11)
    assert cal.working_hours_between(at(2026, 3, 6, 15), at(2026, 3, 9, 11)) == 4.0
    # A report on Saturday night starts counting on Monday morning.
    assert cal.add_working_hours(at(2026, 3, 7, 21), 1) == at(2026, 3, 9, 10)
    assert cal.working_hours_between(at(2026, 3, 7, 9), at(2026, 3, 8, 17)) == 0.0


def test_working_hours_between_spans_the_national_day_holiday():
    # Tue 30 Sep 10:00 → Thu 9 Oct 10:00: 7 hours on the 30th, 1 on the 9th.
    assert calendar().working_hours_between(at(2025, 9, 30), at(2025, 10, 9)) == 8.0


def test_every_builtin_row_names_its_own_weekday():
    with BUILTIN.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    wrong = [
        r["date"] for r in rows if WEEKDAYS[date.fromisoformat(r["date"]).weekday()] != r["weekday"]
    ]
    assert wrong == []
    # Make-up working days are weekend days; holidays are never make-up days too.
    makeup = [date.fromisoformat(r["date"]) for r in rows if r["kind"] == "workday"]
    assert [d for d in makeup if d.weekday() < 5] == []


def test_an_administrator_adds_next_years_holidays_in_a_file(settings, tmp_path):
    extra = tmp_path / "holidays-2027.csv"
    extra.write_text(
        "date,kind,festival,weekday\n"
        "2027-02-08,holiday,春节,周一\n"
        "2027-02-09,holiday,春节,周二\n"
        "2027-02-06,workday,春节,周六\n",
        encoding="utf-8",
    )
    before = [calendar().is_working_day(d) for d in days(date(2027, 2, 6), date(2027, 2, 9))]
    settings.WANGGE_HOLIDAYS_FILE = str(extra)
    after = [calendar().is_working_day(d) for d in days(date(2027, 2, 6), date(2027, 2, 9))]

    assert before == [False, False, True, True]
    assert after == [True, False, False, False]
    # The built-in years still count.
    assert calendar().is_working_day(date(2026, 2, 16)) is False
    assert calendar().add_working_days(at(2027, 2, 5), 2) == at(2027, 2, 10)


def test_a_bad_row_in_the_extra_file_stops_startup_and_names_the_line(settings, tmp_path):
    extra = tmp_path / "holidays.csv"
    extra.write_text(
        "date,kind,festival,weekday\n2027-02-08,holiday,春节,周一\n2027-02-31,holiday,春节,\n",
        encoding="utf-8",
    )
    settings.WANGGE_HOLIDAYS_FILE = str(extra)
    with pytest.raises(ImproperlyConfigured, match=r"line 3: date must be YYYY-MM-DD"):
        calendar()


def test_an_unknown_kind_in_the_extra_file_is_refused(settings, tmp_path):
    extra = tmp_path / "holidays.csv"
    extra.write_text("date,kind\n2027-02-08,vacation\n", encoding="utf-8")
    settings.WANGGE_HOLIDAYS_FILE = str(extra)
    with pytest.raises(ImproperlyConfigured, match=r"line 2: kind must be 'holiday' or 'workday'"):
        calendar()
