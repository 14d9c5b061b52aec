"""Events matching publishes. Subsidy's ``scenario_demo`` programme consumes the selection event."""

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


MATCHING_EVENTS: tuple[type[EventContract], ...] = (ScenarioDemoSelectedV1,)
