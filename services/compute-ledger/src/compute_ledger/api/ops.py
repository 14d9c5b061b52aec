from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel

from compute_ledger.api.deps import OPS
from compute_ledger.service import ops as service
from opc_shared.pagination import PageDep, PageOut
from opc_shared.service import UowDep
from opc_shared.times import UtcDateTime

router = APIRouter(prefix="/ops", tags=["operations"], dependencies=[OPS])


class UnattributedOut(BaseModel):
    buyer_uscc: str
    records: int
    amount_fen: int
    last_received_at: UtcDateTime
    last_started_at: UtcDateTime


class DiscrepancyOut(BaseModel):
    record_id: str
    vendor_id: UUID
    buyer_uscc: str
    firm_id: UUID | None
    kind: str
    resource: str
    started_at: UtcDateTime
    amount_fen: int
    rated_fen: int | None
    discrepancy: str


@router.get("/unattributed", response_model=PageOut[UnattributedOut], summary="Usage for USCCs no registered firm has yet")
async def unattributed(uow: UowDep, page: PageDep) -> PageOut[UnattributedOut]:
    return PageOut.of(await service.unattributed(uow, page), UnattributedOut)


@router.get(
    "/discrepancies", response_model=PageOut[DiscrepancyOut], summary="Records whose amount disagrees with the price table"
)
async def discrepancies(uow: UowDep, page: PageDep, vendor_id: UUID | None = None) -> PageOut[DiscrepancyOut]:
    return PageOut.of(await service.discrepancies(uow, vendor_id=vendor_id, page=page), DiscrepancyOut)
