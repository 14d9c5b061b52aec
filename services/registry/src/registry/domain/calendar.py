"""The Chinese working-day calendar that every "N working days" deadline is counted on.

Public holidays and adjusted working days (调休: a Saturday or Sunday that is worked to
bridge a long break) change every year, and the State Council only publishes next year's
schedule late in the current one. A deadline computed on a guessed calendar is a legal
error, so the calendar knows which years it holds and refuses to answer for any other.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from types import MappingProxyType
from typing import NamedTuple

import chinese_calendar

_WEEK = 7
_WORKING_DAYS_PER_WEEK = 5


class DayKind(enum.StrEnum):
    """A deviation from the plain rule (Monday–Friday worked, weekend rested)."""

    holiday = "holiday"
    workday = "workday"


class CalendarNotLoaded(LookupError):
    """A computation reached a year whose official schedule nobody has loaded."""

    def __init__(self, year: int, detail: str | None = None) -> None:
        self.year = year
        super().__init__(
            detail
            or f"the working-day calendar for {year} is not loaded: load the State Council's "
            f"holiday schedule for {year} before computing dates that reach it"
        )


class WorkingCalendar:
    """Working days for the loaded years; immutable so one instance can serve every request."""

    __slots__ = ("_loaded_years", "_overrides")

    def __init__(self, overrides: Mapping[date, DayKind], loaded_years: Iterable[int]) -> None:
        years = frozenset(loaded_years)
        stray = sorted({d.year for d in overrides} - years)
        if stray:
            raise ValueError(f"overrides given for years {stray} that are not declared loaded")
        self._overrides: Mapping[date, DayKind] = MappingProxyType({d: DayKind(k) for d, k in overrides.items()})
        self._loaded_years = years

    @property
    def overrides(self) -> Mapping[date, DayKind]:
        return self._overrides

    @property
    def loaded_years(self) -> frozenset[int]:
        return self._loaded_years

    def __repr__(self) -> str:
        return f"WorkingCalendar(loaded_years={sorted(self._loaded_years)}, overrides={len(self._overrides)})"

    def _require(self, year: int) -> None:
        if year not in self._loaded_years:
            raise CalendarNotLoaded(year)

    def is_working_day(self, d: date) -> bool:
        self._require(d.year)
        kind = self._overrides.get(d)
        if kind is DayKind.holiday:
            return False
        if kind is DayKind.workday:
            return True
        return d.weekday() < _WORKING_DAYS_PER_WEEK

    def add_working_days(self, d: date, n: int) -> date:
        """The n-th working day strictly after ``d``: the start day itself never counts (次日起算)."""
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        day = d
        while n:
            day += timedelta(days=1)
            if self.is_working_day(day):
                n -= 1
        return day

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``, even when ``d`` is itself a working day."""
        return self.add_working_days(d, 1)

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in (a, b]; counted arithmetically so long statistics ranges stay cheap."""
        if b <= a:
            return 0
        first = a + timedelta(days=1)
        for year in range(first.year, b.year + 1):
            self._require(year)
        count = _weekdays_in(first, b)
        for d, kind in self._overrides.items():
            if first <= d <= b:
                weekday = d.weekday() < _WORKING_DAYS_PER_WEEK
                if kind is DayKind.holiday and weekday:
                    count -= 1
                elif kind is DayKind.workday and not weekday:
                    count += 1
        return count


def _weekdays_in(first: date, last: date) -> int:
    """Monday–Friday dates in [first, last]."""
    days = (last - first).days + 1
    weeks, rest = divmod(days, _WEEK)
    count = weeks * _WORKING_DAYS_PER_WEEK
    start = first.weekday()
    count += sum(1 for i in range(rest) if (start + i) % _WEEK < _WORKING_DAYS_PER_WEEK)
    return count


class CalendarEntry(NamedTuple):
    kind: DayKind
    name: str | None


def seed_entries(year: int) -> dict[date, CalendarEntry]:
    """The deviations from the Monday–Friday rule in ``year``, as the chinese-calendar package records them.

    Only deviations are kept (a weekday holiday, a worked weekend day): a holiday that falls
    on a weekend changes nothing and storing it would only invite disagreement. The name is
    the Chinese holiday name (春节, 国庆节 …) the deviation belongs to; for an adjusted
    working day that is the break it pays for. A year the package does not know raises
    :class:`CalendarNotLoaded` rather than falling back to the plain weekly rule.
    """
    entries: dict[date, CalendarEntry] = {}
    day = date(year, 1, 1)
    while day.year == year:
        try:
            rested, english_name = chinese_calendar.get_holiday_detail(day)
        except NotImplementedError as exc:
            raise CalendarNotLoaded(
                year, f"chinese-calendar {chinese_calendar.__version__} has no official schedule for {year}: {exc}"
            ) from exc
        weekday = day.weekday() < _WORKING_DAYS_PER_WEEK
        if rested == weekday:
            kind = DayKind.holiday if rested else DayKind.workday
            entries[day] = CalendarEntry(kind, _chinese_name(english_name))
        day += timedelta(days=1)
    return entries


def _chinese_name(english_name: str | None) -> str | None:
    if english_name is None:
        return None
    try:
        return chinese_calendar.Holiday(english_name).chinese
    except ValueError:
        return english_name


def seeded_calendar(*years: int) -> WorkingCalendar:
    """A calendar straight from the package, for tests and for seeding the stored calendar."""
    overrides: dict[date, DayKind] = {}
    for year in years:
        overrides.update({d: entry.kind for d, entry in seed_entries(year).items()})
    return WorkingCalendar(overrides, set(years))


#: Fewer days of calendar than this and ops are told (readiness warning, one event): weeks, not hours, before the cliff.
HORIZON_WARNING_DAYS = 45


class Horizon(NamedTuple):
    """How far ahead the loaded calendar answers, counted from ``today`` (Asia/Shanghai)."""

    #: The last day of the unbroken run of loaded years starting with today's; None if today's year is missing.
    last_day: date | None
    #: Days after today the calendar still answers for (0 when it ends today or is missing).
    days_left: int
    #: The first year that must be loaded next.
    missing_year: int

    @property
    def low(self) -> bool:
        return self.days_left < HORIZON_WARNING_DAYS


def horizon(loaded_years: Iterable[int], today: date) -> Horizon:
    """A gap year breaks the run: a deadline cannot skip over a year nobody loaded."""
    loaded = set(loaded_years)
    year = today.year
    while year in loaded:
        year += 1
    if year == today.year:
        return Horizon(None, 0, year)
    last_day = date(year - 1, 12, 31)
    return Horizon(last_day, (last_day - today).days, year)


def entry_problems(year: int, days: Iterable[tuple[date, str]]) -> list[tuple[str, str, dict[str, str]]]:
    """(field, type, message) for each entry that cannot be part of ``year``'s official schedule.

    Only deviations are stored: a holiday on a weekday, a worked Saturday or Sunday (调休)."""
    from registry.domain.messages import say  # the catalogue names materials; keep this module's imports light

    problems: list[tuple[str, str, dict[str, str]]] = []
    seen: set[date] = set()
    for i, (day, kind) in enumerate(days):
        if day.year != year:
            problems.append((f"days.{i}.day", "wrong_year", say("day_wrong_year", year=year)))
        if day in seen:
            problems.append((f"days.{i}.day", "duplicate", say("day_listed_twice", day=day.isoformat())))
        seen.add(day)
        weekend = day.weekday() >= _WORKING_DAYS_PER_WEEK
        if kind == DayKind.workday and not weekend:
            problems.append((f"days.{i}.kind", "inconsistent", say("workday_on_weekday")))
        elif kind == DayKind.holiday and weekend:
            problems.append((f"days.{i}.kind", "inconsistent", say("holiday_on_weekend")))
    return problems
