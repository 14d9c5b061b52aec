"""Firm status over time. Subsidies count months of normal operation, so every change has an
effective date and history is never rewritten."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from opc_shared.aggregate import Aggregate
from opc_shared.contracts.base import EventContract
from opc_shared.contracts.registry import FirmStatusChangedV1
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


@dataclass(frozen=True)
class StatusChange:
    status: str
    effective_date: date
    reason: str | None
    recorded_by: str


@dataclass
class FirmStatus(Aggregate):
    """The part of a registered firm the register changes: its status, from a date, with history."""

    id: uuid.UUID
    district: str
    status: str
    since: date | None
    version: int
    events: list[EventContract] = field(default_factory=list, repr=False)
    new_changes: list[StatusChange] = field(default_factory=list, repr=False)

    def change(self, new: str, effective: date, reason: str | None, *, today: date, actor: str) -> None:
        check_status_change(self.status, self.since, new, effective, today)
        previous, self.status, self.since = self.status, new, effective
        self.new_changes.append(StatusChange(new, effective, reason, actor))
        self.record(
            FirmStatusChangedV1(
                firm_id=self.id,
                district=self.district,
                status=new,
                previous_status=previous,
                effective_date=effective,
                reason=reason,
            )
        )
