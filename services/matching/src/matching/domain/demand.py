"""A scenario owner's demand and its life: draft → open → matched → in progress → completed,
or cancelled from any state before completion. Each change records its event."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

from matching.domain.catalogue import DISTRICT_NAMES, SECTORS, unknown_capabilities
from matching.domain.scoring import DemandQuery
from opc_shared.aggregate import Aggregate
from opc_shared.contracts.base import EventContract
from opc_shared.contracts.matching import DemandPublishedV1, DemandStatusChangedV1
from opc_shared.errors import DomainError, InvalidInput

DRAFT, OPEN, MATCHED, IN_PROGRESS, COMPLETED, CANCELLED = "draft", "open", "matched", "in_progress", "completed", "cancelled"
STATUSES = (DRAFT, OPEN, MATCHED, IN_PROGRESS, COMPLETED, CANCELLED)
#: Which status each action may start from.
ALLOWED = {
    "publish": {DRAFT},
    "match": {OPEN},
    "start": {MATCHED},
    "complete": {IN_PROGRESS},
    "cancel": {DRAFT, OPEN, MATCHED, IN_PROGRESS},
    "edit": {DRAFT},
}


class DemandStateError(DomainError):
    code = "demand_state"

    def __init__(self, action: str, status: str) -> None:
        super().__init__(params={"action": action, "status": status})


def validate_terms(
    *,
    sector: str,
    capabilities: dict[str, int],
    budget_min_fen: int | None,
    budget_max_fen: int | None,
    location_district: str | None,
) -> None:
    """Rules a schema cannot check alone; every offending field is named at once."""
    errors = []
    if sector not in SECTORS:
        errors.append(("sector", "unknown_sector", f"not one of {', '.join(SECTORS)}"))
    if not capabilities:
        errors.append(("capabilities", "missing", "name at least one capability from the catalogue"))
    unknown = unknown_capabilities(capabilities)
    if unknown:
        errors.append(("capabilities", "unknown_capability", f"not in the catalogue: {', '.join(unknown)}"))
    if budget_min_fen is not None and budget_max_fen is not None and budget_min_fen > budget_max_fen:
        errors.append(("budget_min_fen", "value_error", "must not exceed budget_max_fen"))
    if location_district is not None and location_district not in DISTRICT_NAMES:
        errors.append(("location_district", "unknown_district", "not a district of the catalogue (omit it for anywhere)"))
    if errors:
        raise InvalidInput(errors)


@dataclass
class Demand(Aggregate):
    id: UUID
    owner_sub: str
    owner_name: str
    district: str
    title: str
    description: str
    sector: str
    capabilities: dict[str, int]
    budget_min_fen: int | None
    budget_max_fen: int | None
    deadline: date | None
    location_district: str | None
    team_allowed: bool
    status: str
    created_at: datetime
    version: int = 1
    firm_id: UUID | None = None
    member_firm_ids: list[UUID] = field(default_factory=list)
    dispatch_round: int = 0
    dispatch_fan_out: int = 3
    dispatch_timeout_s: int = 900
    actual_investment_fen: int | None = None
    rating: int | None = None
    published_at: datetime | None = None
    completed_at: datetime | None = None
    events: list[EventContract] = field(default_factory=list, repr=False)

    def query(self, exclude: frozenset[UUID] = frozenset()) -> DemandQuery:
        return DemandQuery(
            text=f"{self.title} {self.description}",
            capabilities=self.capabilities,
            budget_min_fen=self.budget_min_fen,
            budget_max_fen=self.budget_max_fen,
            district=self.location_district,
            exclude=exclude,
        )

    def _require(self, action: str) -> None:
        if self.status not in ALLOWED[action]:
            raise DemandStateError(action, self.status)

    def _changed(self, status: str, now: datetime, **extra: object) -> None:
        previous, self.status = self.status, status
        self.version += 1
        self.record(
            DemandStatusChangedV1(
                demand_id=self.id,
                district=self.district,
                status=status,
                previous_status=previous,
                changed_at=now,
                firm_id=self.firm_id,
                member_firm_ids=self.member_firm_ids,
                **extra,
            )
        )

    def publish(self, now: datetime) -> None:
        self._require("publish")
        self.status, self.published_at = OPEN, now
        self.version += 1
        self.record(
            DemandPublishedV1(
                demand_id=self.id,
                district=self.district,
                title=self.title,
                sector=self.sector,
                capabilities=self.capabilities,
                budget_min_fen=self.budget_min_fen,
                budget_max_fen=self.budget_max_fen,
                location_district=self.location_district,
                team_allowed=self.team_allowed,
                published_at=now,
            )
        )

    def match(self, firm_id: UUID, now: datetime, members: list[UUID] | None = None) -> None:
        self._require("match")
        self.firm_id = firm_id
        self.member_firm_ids = list(members or [])
        self._changed(MATCHED, now)

    def start(self, now: datetime) -> None:
        self._require("start")
        self._changed(IN_PROGRESS, now)

    def complete(self, now: datetime, *, actual_investment_fen: int, rating: int) -> None:
        self._require("complete")
        if not 1 <= rating <= 5:
            raise InvalidInput([("rating", "value_error", "1 to 5 stars")])
        if actual_investment_fen < 0:
            raise InvalidInput([("actual_investment_fen", "value_error", "integer fen, not negative")])
        self.actual_investment_fen, self.rating, self.completed_at = actual_investment_fen, rating, now
        self._changed(COMPLETED, now, actual_investment_fen=actual_investment_fen, rating=rating)

    def cancel(self, now: datetime) -> None:
        self._require("cancel")
        self._changed(CANCELLED, now)
