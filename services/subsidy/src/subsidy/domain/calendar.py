"""Working days for the claim review SLA, on the official calendar the registry publishes.

A year nobody has loaded is refused rather than guessed: a deadline on a guessed calendar is wrong.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta


class CalendarNotLoaded(LookupError):
    def __init__(self, year: int) -> None:
        self.year = year
        super().__init__(f"the working-day calendar for {year} is not loaded")


class WorkingDays:
    def __init__(self, years: Iterable[tuple[int, Iterable[date], Iterable[date]]]) -> None:
        self.loaded: set[int] = set()
        self.holidays: set[date] = set()
        self.workdays: set[date] = set()
        for year, holidays, workdays in years:
            self.loaded.add(year)
            self.holidays.update(holidays)
            self.workdays.update(workdays)

    def is_working_day(self, d: date) -> bool:
        if d.year not in self.loaded:
            raise CalendarNotLoaded(d.year)
        if d in self.holidays:
            return False
        return d in self.workdays or d.weekday() < 5

    def add(self, start: date, n: int) -> date:
        """The n-th working day strictly after ``start`` (the day itself never counts)."""
        d = start
        while n > 0:
            d += timedelta(days=1)
            if self.is_working_day(d):
                n -= 1
        return d

    def between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end``."""
        count, d = 0, start
        while d < end:
            d += timedelta(days=1)
            count += self.is_working_day(d)
        return count
