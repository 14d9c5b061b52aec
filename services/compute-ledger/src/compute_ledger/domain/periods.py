"""Months in Asia/Shanghai: usage windows, booking periods and when a month may close."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def month_of(moment: datetime) -> str:
    """The ``YYYY-MM`` month (Asia/Shanghai) a moment falls in."""
    local = moment.astimezone(SHANGHAI)
    return f"{local.year:04d}-{local.month:02d}"


def month_of_date(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def parse_month(period: str) -> tuple[int, int]:
    year, month = period.split("-")
    return int(year), int(month)


def next_month(period: str) -> str:
    year, month = parse_month(period)
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


def month_bounds(period: str) -> tuple[datetime, datetime]:
    """[start, end) of the month in Asia/Shanghai, as aware datetimes."""
    year, month = parse_month(period)
    start = datetime(year, month, 1, tzinfo=SHANGHAI)
    ny, nm = parse_month(next_month(period))
    return start, datetime(ny, nm, 1, tzinfo=SHANGHAI)


def month_dates(period: str) -> tuple[date, date]:
    """[first day, first day of the next month) as dates."""
    start, end = month_bounds(period)
    return start.date(), end.date()


@dataclass(frozen=True)
class ClosingRule:
    """A month closes once its last day plus ``grace_days`` has passed in Asia/Shanghai:
    late usage reported within the grace still lands in its own month."""

    grace_days: int

    def closes_at(self, period: str) -> datetime:
        return month_bounds(period)[1] + timedelta(days=self.grace_days)

    def may_close(self, period: str, now: datetime) -> bool:
        return now >= self.closes_at(period)


def booking_period(usage_month: str, closed: set[str], now: datetime) -> str:
    """Where a record is booked: its own month while that month is open; a record for a closed
    month is a late restatement, booked in the month that is open now (never into the snapshot)."""
    if usage_month not in closed:
        return usage_month
    current = month_of(now)
    while current in closed:
        current = next_month(current)
    return current
