"""Events matching publishes. Subsidy's ``scenario_demo`` programme consumes the selection event.

Demand and offer events are keyed by the demand, so one order's timeline stays in order; the
selection event (the one that crosses services) is keyed by the lead firm."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import Field

from opc_shared.contracts import topics
from opc_shared.contracts.base import EventContract
from opc_shared.times import UtcDateTime


class _MatchingEvent(EventContract):
    topic: ClassVar[str] = topics.MATCHING


class ScenarioDemoSelectedV1(_MatchingEvent):
    """A completed engagement was selected as one of the year's scenario demonstration projects.

    Keyed by the lead firm (the one that receives the subsidy); ``actual_investment_fen`` is the
    scenario's actual investment, the base of the ``scenario_demo`` programme."""

    event_type: ClassVar[str] = "opc.matching.scenario_demo.selected.v1"

    firm_id: UUID
    district: str = Field(min_length=1, max_length=64)
    city: str = Field(default="chengdu", min_length=1, max_length=64)
    selection_id: UUID
    engagement_id: UUID
    demand_id: UUID
    year: int = Field(ge=2000, le=2200)
    title: str = Field(min_length=1, max_length=200)
    sector: str = Field(min_length=1, max_length=64)
    scenario_owner: str = Field(min_length=1, max_length=200)
    #: Other firms of the team, when a team delivered it.
    member_firm_ids: list[UUID] = Field(default_factory=list)
    actual_investment_fen: int = Field(ge=0)
    selected_at: UtcDateTime


class _DemandEvent(_MatchingEvent):
    subject_field: ClassVar[str] = "demand_id"

    demand_id: UUID
    district: str = Field(min_length=1, max_length=64)


class DemandPublishedV1(_DemandEvent):
    """A scenario owner's demand is open for suppliers (the demand list)."""

    event_type: ClassVar[str] = "opc.matching.demand.published.v1"

    title: str = Field(min_length=1, max_length=200)
    sector: str = Field(min_length=1, max_length=64)
    capabilities: dict[str, int]
    budget_min_fen: int | None = Field(default=None, ge=0)
    budget_max_fen: int | None = Field(default=None, ge=0)
    location_district: str | None = None
    team_allowed: bool = False
    published_at: UtcDateTime


class DemandStatusChangedV1(_DemandEvent):
    """matched, in_progress, completed or cancelled (with the supplier when there is one)."""

    event_type: ClassVar[str] = "opc.matching.demand.status_changed.v1"

    status: str = Field(min_length=1, max_length=20)
    previous_status: str = Field(min_length=1, max_length=20)
    firm_id: UUID | None = None
    member_firm_ids: list[UUID] = Field(default_factory=list)
    actual_investment_fen: int | None = Field(default=None, ge=0)
    rating: int | None = Field(default=None, ge=1, le=5)
    changed_at: UtcDateTime


class _OfferEvent(_DemandEvent):
    offer_id: UUID
    firm_id: UUID
    round: int = Field(ge=1)


class OfferMadeV1(_OfferEvent):
    """Dispatch offered the order to a supplier, who must answer before ``expires_at``."""

    event_type: ClassVar[str] = "opc.matching.offer.made.v1"

    rank: int = Field(ge=1)
    score: float
    offered_at: UtcDateTime
    expires_at: UtcDateTime


class OfferAcceptedV1(_OfferEvent):
    """The first acceptance: the order is the supplier's."""

    event_type: ClassVar[str] = "opc.matching.offer.accepted.v1"

    accepted_at: UtcDateTime


class OfferDeclinedV1(_OfferEvent):
    event_type: ClassVar[str] = "opc.matching.offer.declined.v1"

    reason: str | None = Field(default=None, max_length=500)
    declined_at: UtcDateTime


class OfferExpiredV1(_OfferEvent):
    """No answer before the response timeout."""

    event_type: ClassVar[str] = "opc.matching.offer.expired.v1"

    expired_at: UtcDateTime


class OfferWithdrawnV1(_OfferEvent):
    """Another supplier accepted first (or the order was cancelled): this supplier is told it is taken."""

    event_type: ClassVar[str] = "opc.matching.offer.withdrawn.v1"

    reason: str = Field(min_length=1, max_length=40)
    withdrawn_at: UtcDateTime


class ScenarioDemoNominatedV1(_DemandEvent):
    """A completed engagement was put forward for the year's scenario demonstration selection."""

    event_type: ClassVar[str] = "opc.matching.scenario_demo.nominated.v1"

    nomination_id: UUID
    firm_id: UUID
    year: int = Field(ge=2000, le=2200)
    actual_investment_fen: int = Field(ge=0)
    nominated_at: UtcDateTime


class RoadshowScheduledV1(_MatchingEvent):
    """A "1+N" roadshow: one demand owner and N matched OPCs."""

    event_type: ClassVar[str] = "opc.matching.roadshow.scheduled.v1"
    subject_field: ClassVar[str] = "roadshow_id"

    roadshow_id: UUID
    district: str = Field(min_length=1, max_length=64)
    demand_id: UUID
    firm_ids: list[UUID]
    held_at: UtcDateTime


MATCHING_EVENTS: tuple[type[EventContract], ...] = (
    ScenarioDemoSelectedV1,
    DemandPublishedV1,
    DemandStatusChangedV1,
    OfferMadeV1,
    OfferAcceptedV1,
    OfferDeclinedV1,
    OfferExpiredV1,
    OfferWithdrawnV1,
    ScenarioDemoNominatedV1,
    RoadshowScheduledV1,
)
