"""Request and response bodies of the matching API (never the table rows themselves)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from opc_shared.times import ApiDate, JsonWithTimes, UtcDateTime

Fen = Annotated[int, Field(ge=0, le=10**13, description="integer fen (分)")]
Text200 = Annotated[str, Field(min_length=1, max_length=200)]


#: ``{"zh-CN": …, "en": …}``
Explanation = dict[str, str]


class ProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    capabilities: list[Annotated[str, Field(max_length=64)]] = Field(min_length=1, max_length=24)
    description: str = Field(min_length=1, max_length=4000)
    portfolio_links: list[HttpUrl] = Field(default_factory=list, max_length=20)
    capacity: int = Field(ge=1, le=50, description="concurrent engagements")
    price_min_fen: Fen | None = None
    price_max_fen: Fen | None = None
    available: bool = True


class SupplierProfileOut(BaseModel):
    firm_id: UUID
    firm_name: str
    district: str
    community: str | None
    community_id: UUID | None = None
    status: str
    business_lines: list[str] = []
    capabilities: list[str] = []
    description: str = ""
    portfolio_links: list[str] = []
    capacity: int = 1
    active_engagements: int = 0
    price_min_fen: int | None = None
    price_max_fen: int | None = None
    available: bool = True
    rating: float | None = None
    rating_count: int = 0
    version: int = 1
    registered_at: UtcDateTime
    opened_at: UtcDateTime
    completed_at: UtcDateTime | None = None

    @classmethod
    def of(cls, row: dict[str, Any]) -> SupplierProfileOut:
        rating = round(row["rating_sum"] / row["rating_count"], 2) if row.get("rating_count") else None
        return cls.model_validate({**row, "rating": rating})


class DemandIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Text200
    description: str = Field(min_length=1, max_length=8000)
    owner_name: Text200 = Field(description="the scenario owner (enterprise or public body) as shown to suppliers")
    sector: str = Field(max_length=64)
    capabilities: dict[Annotated[str, Field(max_length=64)], Annotated[int, Field(ge=1, le=10)]] = Field(
        min_length=1, max_length=10, description="capability code → weight 1–10"
    )
    budget_min_fen: Fen | None = None
    budget_max_fen: Fen | None = None
    deadline: ApiDate | None = None
    location_district: str | None = Field(default=None, max_length=64, description="omit for anywhere")
    team_allowed: bool = False
    publish: bool = Field(default=True, description="false keeps it a draft")


class DemandOut(BaseModel):
    id: UUID
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
    version: int
    firm_id: UUID | None
    member_firm_ids: list[UUID] = []
    dispatch_round: int
    actual_investment_fen: int | None
    rating: int | None
    created_at: UtcDateTime
    published_at: UtcDateTime | None
    completed_at: UtcDateTime | None


class CandidateOut(BaseModel):
    firm_id: UUID
    firm_name: str
    district: str
    score: float
    components: dict[str, float]
    covered: list[str]
    missing: list[str]
    explanation: Explanation


class CandidatesOut(BaseModel):
    demand_id: UUID
    items: list[CandidateOut]
    next_cursor: str | None = Field(default=None, description="always null: a ranking is read as its top `limit` (≤ 100)")


class MemberOut(BaseModel):
    firm_id: UUID
    firm_name: str
    lead: bool
    covers: list[str]
    score: float
    reason: Explanation


class TeamOut(BaseModel):
    demand_id: UUID
    members: list[MemberOut]
    objective: float
    price_fen: int
    optimal: bool
    candidates_considered: int


class CompleteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    actual_investment_fen: Fen = Field(description="the scenario's actual investment (the base of the scenario subsidy)")
    rating: int = Field(ge=1, le=5)


class DispatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fan_out: int = Field(default=3, ge=1, le=10, description="suppliers offered at once")
    timeout_s: int = Field(default=900, ge=30, le=7 * 86400, description="response timeout per offer")


class OfferOut(BaseModel):
    id: UUID
    demand_id: UUID
    firm_id: UUID
    round: int
    rank: int
    score: str
    status: str
    offered_at: UtcDateTime
    expires_at: UtcDateTime
    answered_at: UtcDateTime | None = None
    reason: str | None = None
    title: str | None = None


class DeclineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=500)


class TimelineEntry(BaseModel):
    at: UtcDateTime
    kind: str
    actor: str
    detail: JsonWithTimes


class AgendaItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    time: str = Field(max_length=20, description="local time, e.g. 14:30")
    item: str = Field(min_length=1, max_length=500)


class RoadshowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    demand_id: UUID
    title: Text200
    held_at: UtcDateTime
    n: int = Field(default=5, ge=1, le=20, description="matched OPCs invited when firm_ids is omitted")
    firm_ids: list[UUID] | None = Field(default=None, max_length=20)
    agenda: list[AgendaItem] = Field(default_factory=list, max_length=50)


class RoadshowOut(BaseModel):
    id: UUID
    district: str
    title: str
    held_at: UtcDateTime
    demand: dict[str, Any]
    firms: list[dict[str, Any]]
    agenda: list[dict[str, Any]]


class NominationOut(BaseModel):
    id: UUID
    demand_id: UUID
    year: int
    city: str
    district: str
    firm_id: UUID
    status: str
    nominated_at: UtcDateTime


class SelectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    city: str = Field(default="chengdu", max_length=64)
    year: int = Field(ge=2000, le=2200)
    nomination_ids: list[UUID] = Field(min_length=1, max_length=20)


class SelectionOut(BaseModel):
    nomination_id: UUID
    selection_id: UUID
    demand_id: UUID
    firm_id: UUID


class ExposureOut(BaseModel):
    district: str | None = Field(description="null: every district together")
    active_suppliers: int
    exposure_gini: float
    share_with_offer_30d: float
    offers_30d: int


class AssignedOut(BaseModel):
    demand_id: UUID
    title: str
    firm_id: UUID | None = Field(description="null: left open (nothing worth more than the penalty, or no capacity)")
    score: float | None


class AssignmentOut(BaseModel):
    demands: int
    assigned: int
    fill_rate: float
    certified_gap: float = Field(description="upper bound on the relative gap to the optimum over every supplier")
    items: list[AssignedOut]


class TeamAwardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lead_firm_id: UUID
    member_firm_ids: list[UUID] = Field(default_factory=list, max_length=4)
