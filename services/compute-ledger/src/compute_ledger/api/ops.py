from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel

from compute_ledger.api.deps import OPS
from compute_ledger.service import ops as service
from opc_shared.pagination import PageOut
from opc_shared.service import UowDep

router = APIRouter(prefix="/ops", tags=["operations"], dependencies=[OPS])


class UnattributedOut(BaseModel):
    buyer_uscc: str
    records: int
    amount_fen: int
    first_received_at: datetime
    last_started_at: datetime


class DiscrepancyOut(BaseModel):
    record_id: str
    vendor_id: UUID
    buyer_uscc: str
    firm_id: UUID | None
    kind: str
    resource: str
    started_at: datetime
    amount_fen: int
    rated_fen: int | None
    discrepancy: str


Cursor = Annotated[str | None, Query(max_length=500)]
Limit = Annotated[int, Query(ge=1, le=200)]


@router.get("/unattributed", response_model=PageOut[UnattributedOut], summary="Usage for USCCs no registered firm has yet")
async def unattributed(uow: UowDep, cursor: Cursor = None, limit: Limit = 50) -> PageOut[UnattributedOut]:
    page = await service.unattributed(uow, cursor=cursor, limit=limit)
    return PageOut[UnattributedOut](items=[UnattributedOut.model_validate(i) for i in page.items], next_cursor=page.next_cursor)


@router.get(
    "/discrepancies", response_model=PageOut[DiscrepancyOut], summary="Records whose amount disagrees with the price table"
)
async def discrepancies(
    uow: UowDep, vendor_id: UUID | None = None, cursor: Cursor = None, limit: Limit = 50
) -> PageOut[DiscrepancyOut]:
    page = await service.discrepancies(uow, vendor_id=vendor_id, cursor=cursor, limit=limit)
    return PageOut[DiscrepancyOut](items=[DiscrepancyOut.model_validate(i) for i in page.items], next_cursor=page.next_cursor)
