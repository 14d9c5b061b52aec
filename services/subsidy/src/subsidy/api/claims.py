from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from opc_shared.auth import CurrentPrincipal
from opc_shared.clock import SHANGHAI
from opc_shared.concurrency import IfMatch, etag
from opc_shared.idempotency import IdempotencyDep
from opc_shared.money import NonNegativeFen
from opc_shared.pagination import PageDep, PageOut, paged
from opc_shared.scoping import DistrictQuery
from opc_shared.service import ClockDep, UowDep
from opc_shared.times import JsonWithTimes, UtcDateTime
from subsidy.service import claims as service

router = APIRouter(prefix="/claims", tags=["claims"])


class EvidenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(min_length=1, max_length=32, pattern=r"^[a-z_]+$")
    number: str = Field(min_length=1, max_length=100, description="contract, invoice or certificate number")
    document_ref: str = Field(min_length=1, max_length=500)
    checksum: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the document, hex")


class FactsIn(BaseModel):
    """What the programme's computation rests on; only the fields its kind needs are read."""

    model_config = ConfigDict(extra="forbid")

    base_fen: NonNegativeFen | None = None
    requested_fen: NonNegativeFen | None = None
    months: int | None = Field(default=None, ge=0, le=1200)
    days: int | None = Field(default=None, ge=0, le=36500)
    unit_price_fen: NonNegativeFen | None = None
    area_m2: str | None = Field(default=None, pattern=r"^\d{1,5}(\.\d{1,2})?$", description="decimal as a string")
    housing_class: Literal["A", "B", "C", "D", "E", "F"] | None = None
    county_new_town: bool | None = None
    acceptance_passed: bool | None = None
    founder_is_graduate: bool | None = None
    no_own_housing_in_district: bool | None = None


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    programme: str = Field(min_length=1, max_length=64)
    year: int = Field(ge=2000, le=2200)
    recipient_kind: Literal["firm", "community", "training_operator", "person"] = "firm"
    firm_id: UUID | None = None
    recipient_id: str | None = Field(default=None, min_length=1, max_length=64)
    recipient_code: str | None = Field(default=None, min_length=1, max_length=64, description="USCC or ID number")
    district: str | None = Field(default=None, min_length=1, max_length=64)
    bank_account: str | None = Field(default=None, pattern=r"^\d{8,32}$")
    requested_fen: NonNegativeFen | None = None
    facts: FactsIn = Field(default_factory=FactsIn)
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=50)


class SupplementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    facts: FactsIn = Field(default_factory=FactsIn)
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=50)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approved", "partly_approved", "rejected"]
    approved_fen: NonNegativeFen | None = None
    reasons: list[Annotated[str, Field(min_length=1, max_length=500)]] = Field(default_factory=list, max_length=20)


class ClaimOut(BaseModel):
    id: UUID
    programme: str
    policy_set: str
    policy_version: str
    clause: str
    recipient_kind: str
    recipient_id: str
    firm_id: UUID | None
    district: str
    year: int
    status: str
    facts: dict[str, Any]
    requested_fen: int
    computed_fen: int
    approved_fen: int | None
    missing: list[dict[str, str]]
    reasons: list[str]
    applicant: str
    reviewer: str | None
    approver: str | None
    version: int
    submitted_at: UtcDateTime
    review_due_on: date | None
    decided_at: UtcDateTime | None
    paid_at: UtcDateTime | None
    evidence: list[dict[str, Any]]
    explanation: dict[str, str] | None


class AuditOut(BaseModel):
    action: str
    actor: str
    at: UtcDateTime
    detail: JsonWithTimes


def _body(model: BaseModel) -> dict:
    data = model.model_dump(mode="python", exclude_none=True)
    data["facts"] = model.facts.model_dump(mode="json", exclude_none=True)  # type: ignore[attr-defined]
    return data


def _out(row: dict, status: int = 200) -> JSONResponse:
    body = ClaimOut(**row).model_dump(mode="json")
    return JSONResponse(body, status_code=status, headers={"ETag": etag(row["version"])})


@router.post("", status_code=201, response_model=ClaimOut, summary="Apply; what is missing comes back all at once")
async def apply(body: ClaimIn, principal: CurrentPrincipal, clock: ClockDep, idem: IdempotencyDep) -> JSONResponse:
    async def work(w):
        return 201, ClaimOut(**await service.apply(w, principal, _body(body), clock.now()))

    return await idem.execute(body, work)


@router.get("", response_model=PageOut[ClaimOut], summary="Claims by status (or overdue), district-scoped")
async def list_claims(
    principal: CurrentPrincipal,
    uow: UowDep,
    clock: ClockDep,
    page: PageDep,
    status: Annotated[str | None, Query(max_length=32)] = None,
    district: DistrictQuery = None,
) -> PageOut[ClaimOut]:
    w = uow.work()
    today = clock.now().astimezone(SHANGHAI).date()
    page = await service.list_for(w, principal, status=status, district=district, page=page, today=today)
    return PageOut[ClaimOut](
        items=[ClaimOut(**await service.get(w, principal, r["id"])) for r in page.items], next_cursor=page.next_cursor
    )


@router.get("/{claim_id}", response_model=ClaimOut)
async def get_claim(claim_id: UUID, principal: CurrentPrincipal, uow: UowDep) -> JSONResponse:
    return _out(await service.get(uow.work(), principal, claim_id))


@router.get("/{claim_id}/audit", response_model=PageOut[AuditOut], summary="Every step taken on the claim, oldest first")
async def audit(claim_id: UUID, principal: CurrentPrincipal, uow: UowDep, page: PageDep) -> PageOut[AuditOut]:
    trail = [{**r, "_n": f"{i:08d}"} for i, r in enumerate(await service.trail(uow.work(), principal, claim_id))]
    return PageOut.of(paged(trail, page, key=lambda r: r["_n"], tag="audit"), AuditOut)


async def _act(uow, action) -> JSONResponse:
    row = await action(uow.work())
    return _out(row)


@router.post("/{claim_id}/supplement", response_model=ClaimOut, summary="Answer the deficiency notice, all at once")
async def supplement(
    claim_id: UUID, body: SupplementIn, version: IfMatch, principal: CurrentPrincipal, uow: UowDep, clock: ClockDep
) -> JSONResponse:
    data = {"facts": body.facts.model_dump(mode="json", exclude_none=True), "evidence": [e.model_dump() for e in body.evidence]}
    return await _act(uow, lambda w: service.supplement(w, principal, claim_id, version, data, clock.now()))


@router.post("/{claim_id}/review", response_model=ClaimOut, summary="Take the claim under review")
async def review(claim_id: UUID, version: IfMatch, principal: CurrentPrincipal, uow: UowDep, clock: ClockDep) -> JSONResponse:
    return await _act(uow, lambda w: service.start_review(w, principal, claim_id, version, clock.now()))


@router.post("/{claim_id}/decision", response_model=ClaimOut, summary="Approve, partly approve or reject (four eyes)")
async def decide(
    claim_id: UUID, body: DecisionIn, version: IfMatch, principal: CurrentPrincipal, uow: UowDep, clock: ClockDep
) -> JSONResponse:
    return await _act(uow, lambda w: service.decide(w, principal, claim_id, version, body.model_dump(), clock.now()))
