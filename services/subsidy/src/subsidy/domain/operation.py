"""Months of normal operation (正常经营), the base of the graduate founder tiers.

The registry tells us when a firm was registered and every status change with its effective
date. Suspended time does not count: each suspended stretch pushes the firm's milestones back
by its length in days. Deregistration stops the count for good.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta


def whole_months(start: date, end: date) -> int:
    """Calendar months from ``start`` to ``end``: 2026-01-31 → 2026-02-28 is 0, → 2026-03-01 is 1."""
    if end < start:
        return 0
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day < start.day:
        months -= 1
    return max(months, 0)


def months_of_normal_operation(registered_on: date, changes: Iterable[tuple[date, str]], as_of: date) -> int:
    """Whole months operated between ``registered_on`` and ``as_of``, suspended stretches left out.

    ``changes`` are (effective date, new status) pairs in any order; statuses are
    ``operating``, ``suspended`` and ``deregistered``."""
    paused = timedelta(0)
    status, since = "operating", registered_on
    end = as_of
    for effective, new in sorted((d, s) for d, s in changes if d <= as_of):
        effective = max(effective, registered_on)
        if status == "suspended":
            paused += effective - since
        if new == "deregistered":
            end, status = effective, "deregistered"
            break
        status, since = new, effective
    if status == "suspended":
        paused += as_of - since
    return whole_months(registered_on, end - paused)
