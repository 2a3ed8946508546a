"""The Chinese working-day calendar: State Council holidays and 调休 make-up working days.

Deadlines count working time only. A working day is Monday–Friday unless the calendar marks it a
holiday, plus any weekend day the calendar marks a make-up working day. Working hours run from
WANGGE_WORKDAY_START to WANGGE_WORKDAY_END in Asia/Shanghai.

The built-in rows (wangge/lib/data/holidays.csv) cover 2025 and 2026; an administrator adds later
years, or corrections, in a file of the same columns named by WANGGE_HOLIDAYS_FILE. A date marked
both ways counts as a working day, so a correction can take a holiday back.
"""

import csv
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

BUILTIN = Path(__file__).parent / "data" / "holidays.csv"
KINDS = ("holiday", "workday")


class WorkCalendar:
    def __init__(self, rows: list[dict], start: time, end: time, tz: ZoneInfo):
        if end <= start:
            raise ImproperlyConfigured("The working day must end after it starts.")
        self.holidays = {date.fromisoformat(r["date"]) for r in rows if r["kind"] == "holiday"}
        self.makeup = {date.fromisoformat(r["date"]) for r in rows if r["kind"] == "workday"}
        self.start, self.end, self.tz = start, end, tz
        self.day_length = datetime.combine(date.min, end) - datetime.combine(date.min, start)
        self.hours_per_day = self.day_length.total_seconds() / 3600

    def is_working_day(self, day: date) -> bool:
        if day in self.makeup:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def _local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise ValueError("working time needs an aware datetime")
        return moment.astimezone(self.tz)

    def _day_bounds(self, day: date) -> tuple[datetime, datetime]:
        return (
            datetime.combine(day, self.start, tzinfo=self.tz),
            datetime.combine(day, self.end, tzinfo=self.tz),
        )

    def add_working_hours(self, moment: datetime, hours: float) -> datetime:
        """The moment `hours` of working time after `moment`. Time outside working hours does
        not count: a report at 20:00 starts counting at the next working morning."""
        remaining = timedelta(hours=hours)
        cur = self._local(moment)
        while True:
            day = cur.date()
            if self.is_working_day(day):
                begin, finish = self._day_bounds(day)
                cur = max(cur, begin)
                if cur < finish:
                    available = finish - cur
                    if remaining <= available:
                        return cur + remaining
                    remaining -= available
            cur = datetime.combine(day + timedelta(days=1), self.start, tzinfo=self.tz)

    def add_working_days(self, moment: datetime, days: int) -> datetime:
        """`days` working days later, at the same working time (a report after hours counts from
        the next working morning). 5 working days from Friday 10:00 is the next Friday 10:00."""
        return self.add_working_hours(moment, days * self.hours_per_day)

    def working_hours_between(self, a: datetime, b: datetime) -> float:
        """Working time between two moments, in hours (0 if b <= a)."""
        if b <= a:
            return 0.0
        a, b = self._local(a), self._local(b)
        total = timedelta()
        day = a.date()
        while day <= b.date():
            if self.is_working_day(day):
                begin, finish = self._day_bounds(day)
                lo, hi = max(begin, a), min(finish, b)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total.total_seconds() / 3600


def _read(path: Path) -> list[dict]:
    """The rows of one calendar file; a bad row stops start-up and names its line."""
    try:
        with path.open(encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise ImproperlyConfigured(f"Cannot read the holidays file {path}: {exc}") from exc
    for line, row in enumerate(rows, start=2):
        try:
            date.fromisoformat((row.get("date") or "").strip())
        except ValueError:
            raise ImproperlyConfigured(
                f"{path}, line {line}: date must be YYYY-MM-DD, not {row.get('date')!r}"
            ) from None
        if (row.get("kind") or "").strip() not in KINDS:
            raise ImproperlyConfigured(
                f"{path}, line {line}: kind must be 'holiday' or 'workday', not {row.get('kind')!r}"
            )
    return [{"date": r["date"].strip(), "kind": r["kind"].strip()} for r in rows]


@lru_cache(maxsize=4)
def _calendar(extra_file: str, start: str, end: str, tz: str) -> WorkCalendar:
    rows = _read(BUILTIN)
    if extra_file:
        rows += _read(Path(extra_file))
    return WorkCalendar(rows, time.fromisoformat(start), time.fromisoformat(end), ZoneInfo(tz))


def calendar() -> WorkCalendar:
    """The calendar for the current settings (cached; a changed setting builds a new one)."""
    return _calendar(
        settings.WANGGE_HOLIDAYS_FILE,
        settings.WANGGE_WORKDAY_START,
        settings.WANGGE_WORKDAY_END,
        settings.TIME_ZONE,
    )
