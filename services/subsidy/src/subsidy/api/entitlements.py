from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel

from opc_shared.auth import CurrentPrincipal
from opc_shared.clock import SHANGHAI
from opc_shared.pagination import PageDep, PageOut, paged
from opc_shared.service import ClockDep, UowDep
from opc_shared.times import UtcDateTime
from subsidy.service import entitlements as service
from subsidy.service import evaluation

router = APIRouter(tags=["entitlements"])


class EntitlementOut(BaseModel):
    programme: str
    year: int
    amount_fen: int
    base_fen: int | None
    paid_fen: int
    scheduled_fen: int
    owed_fen: int
    policy_set: str
    policy_version: str
    clause: str
    explanation: dict[str, str]
    updated_at: UtcDateTime


@router.get(
    "/firms/{firm_id}/entitlements",
    response_model=PageOut[EntitlementOut],
    summary="A firm's automatic entitlements of a year, each with its computation in zh-CN and en",
)
async def list_entitlements(
    firm_id: UUID, principal: CurrentPrincipal, uow: UowDep, page: PageDep, year: Annotated[int, Query(ge=2000, le=2200)]
) -> PageOut[EntitlementOut]:
    rows = await service.for_firm(uow, principal, firm_id, year)
    return PageOut.of(
        paged(rows, page, key=lambda r: f"{r['programme']}/{r['policy_version']}", tag="entitlements"), EntitlementOut
    )


class EstimateOut(BaseModel):
    programme: str
    year: int
    base_fen: int
    would_get_fen: int
    paid_fen: int
    owed_fen: int
    cap_left_fen: int
    policy_version: str
    explanation: dict[str, str]


@router.get(
    "/firms/{firm_id}/estimate",
    response_model=PageOut[EstimateOut],
    summary="What the firm would get now on its invoiced usage of the year, and what it is owed so far",
)
async def estimate(
    firm_id: UUID,
    principal: CurrentPrincipal,
    uow: UowDep,
    clock: ClockDep,
    page: PageDep,
    year: Annotated[int, Query(ge=2000, le=2200)],
) -> PageOut[EstimateOut]:
    today = clock.now().astimezone(SHANGHAI).date()
    rows = await evaluation.estimate(uow.work(), principal, firm_id, year, today)
    return PageOut.of(paged(rows, page, key=lambda r: r["programme"], tag="estimate"), EstimateOut)
