from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field

from opc_shared.auth import CurrentPrincipal, require_roles
from opc_shared.errors import Forbidden, NotFound
from opc_shared.pagination import PageDep, PageOut, paged
from opc_shared.service import ClockDep, UowDep
from opc_shared.times import UtcDateTime
from subsidy.service import evaluation
from subsidy.service import policies as service

router = APIRouter(prefix="/policies", tags=["policies"])
ADMIN = require_roles("admin")


class PolicyVersionOut(BaseModel):
    id: UUID
    policy_set: str
    version: str
    city: str
    status: str
    effective_from: date
    created_by: str
    created_at: UtcDateTime
    published_at: UtcDateTime | None = None
    document: dict[str, Any] | None = None


def _city_admin(principal) -> None:
    if principal.district != "*":
        raise Forbidden("policies are set by city-wide admins")


@router.get("", response_model=PageOut[PolicyVersionOut], summary="Every policy version, drafts included")
async def list_versions(principal: CurrentPrincipal, uow: UowDep, page: PageDep) -> PageOut[PolicyVersionOut]:
    """Published versions are public policy; drafts are seen by admins only."""
    rows = [r for r in await service.list_versions(uow.session) if r["status"] == "published" or principal.has_any("admin")]
    found = paged(rows, page, key=lambda r: f"{r['policy_set']}/{r['version']}/{r['id']}", tag="policies")
    return PageOut.of(found, PolicyVersionOut)


@router.get("/{version_id}", response_model=PolicyVersionOut)
async def get_version(version_id: UUID, principal: CurrentPrincipal, uow: UowDep) -> PolicyVersionOut:
    row = await service.get(uow.session, version_id)
    if row["status"] != "published" and not principal.has_any("admin"):
        raise NotFound({"en": "policy version", "zh-CN": "政策版本"}, version_id)
    return PolicyVersionOut(**row)


@router.post("", status_code=201, response_model=PolicyVersionOut, dependencies=[ADMIN], summary="Create a draft version")
async def create_draft(
    principal: CurrentPrincipal, uow: UowDep, document: dict[str, Any] = Body(..., description="the policy document")
) -> PolicyVersionOut:
    _city_admin(principal)
    row = await service.create_draft(uow.session, document, principal.sub)
    return PolicyVersionOut(**row)


@router.post("/{version_id}/publish", response_model=PolicyVersionOut, dependencies=[ADMIN], summary="Publish a draft")
async def publish(version_id: UUID, principal: CurrentPrincipal, uow: UowDep, clock: ClockDep) -> PolicyVersionOut:
    _city_admin(principal)
    row = await service.publish(uow.session, version_id, principal.sub, clock.now())
    return PolicyVersionOut(**row)


class SimulateIn(BaseModel):
    year: int = Field(ge=2000, le=2200)


class SimulationOut(BaseModel):
    policy_set: str
    policy_version: str
    year: int
    firms: int
    total_fen: int
    programmes: dict[str, int]
    districts: dict[str, dict[str, int]]
    current_programmes: dict[str, int]


@router.post(
    "/{version_id}/simulate",
    response_model=SimulationOut,
    summary="What-if: this version (a draft too) over every firm's invoiced base of a year, by programme and district",
)
async def simulate(version_id: UUID, body: SimulateIn, principal: CurrentPrincipal, uow: UowDep) -> SimulationOut:
    return SimulationOut(**await evaluation.simulate(uow.work(), principal, version_id, body.year))
