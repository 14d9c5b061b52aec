"""Firm status over time. Subsidies count months of normal operation, so every change has an
effective date and history is never rewritten."""

from __future__ import annotations

from datetime import date

from registry.domain.errors import DomainError
from registry.domain.messages import name, say

ALLOWED = {
    "operating": {"suspended", "deregistered"},
    "suspended": {"operating", "deregistered"},
    "deregistered": set(),
}


def check_status_change(current: str, since: date | None, new: str, effective: date, today: date) -> None:
    if new not in ALLOWED.get(current, set()):
        raise DomainError("invalid_status_change", {"current": current, "new": new})
    if since is not None and effective < since:
        raise DomainError(
            "invalid_effective_date",
            {"current": current, "new": new},
            [
                (
                    "effective_date",
                    "before_current_status",
                    say("effective_before_current", status=name("status", current), since=since),
                )
            ],
        )
    if effective > today:
        raise DomainError(
            "invalid_effective_date",
            {"current": current, "new": new},
            [("effective_date", "in_future", say("effective_in_future"))],
        )


def _since(current: str, since: date) -> dict[str, str]:
    return say("effective_before_current", status=name("status", current), since=since.isoformat())
