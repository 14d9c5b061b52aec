from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from opc_shared.auth import CurrentPrincipal
from opc_shared.idempotency import IdempotencyDep
from opc_shared.pagination import PageDep, PageOut, paged
from opc_shared.scoping import DistrictQuery
from opc_shared.service import ClockDep, UowDep
from opc_shared.times import UtcDateTime
from subsidy.service import payouts as service

router = APIRouter(tags=["payouts"])


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: str = Field(min_length=1, max_length=64, description='a district code, or "*" for the whole city')


class PaymentOut(BaseModel):
    id: UUID
    reference: str
    recipient_kind: str
    recipient_id: str
    recipient_code: str | None
    bank_account: str | None
    district: str
    gross_fen: int
    recovered_fen: int
    amount_fen: int
    items: dict[str, Any]
    status: str
    bank_reference: str | None
    paid_at: UtcDateTime | None


class BatchOut(BaseModel):
    id: UUID
    scope: str
    status: str
    created_by: str
    created_at: UtcDateTime
    total_fen: int
    payments: list[PaymentOut]
    skipped: list[dict[str, str]]


class RecoveryOut(BaseModel):
    id: UUID
    recipient_kind: str
    recipient_id: str
    district: str
    programme: str
    year: int
    amount_fen: int
    remaining_fen: int
    status: str
    reason: str
    created_at: UtcDateTime


class BankAccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bank_account: str = Field(pattern=r"^\d{8,32}$")
    bank_name: str = Field(min_length=1, max_length=200)


@router.post("/payment-batches", status_code=201, response_model=BatchOut, summary="Everything owed in a scope, netted")
async def create_batch(body: BatchIn, principal: CurrentPrincipal, clock: ClockDep, idem: IdempotencyDep) -> JSONResponse:
    async def work(w):
        return 201, BatchOut(**await service.create_batch(w, principal, body.scope, clock.now()))

    return await idem.execute(body, work)


@router.get("/payment-batches/{batch_id}", response_model=BatchOut)
async def get_batch(batch_id: UUID, principal: CurrentPrincipal, uow: UowDep) -> BatchOut:
    return BatchOut(**await service.get_batch(uow.work(), principal, batch_id))


@router.get("/payment-batches/{batch_id}/bank-file", response_class=PlainTextResponse, summary="The CSV the bank takes")
async def bank_file(batch_id: UUID, principal: CurrentPrincipal, uow: UowDep) -> PlainTextResponse:
    text = await service.bank_file(uow.work(), principal, batch_id)
    return PlainTextResponse(text, media_type="text/csv; charset=utf-8")


class BankReturnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file: str = Field(min_length=1, max_length=5_000_000, description="the bank's CSV: reference,status,bank_reference")


@router.post(
    "/payment-batches/{batch_id}/bank-return",
    response_model=BatchOut,
    summary="The bank's return file (reference,status,bank_reference): marks payments paid or failed",
)
async def bank_return(batch_id: UUID, body: BankReturnIn, principal: CurrentPrincipal, uow: UowDep, clock: ClockDep) -> BatchOut:
    return BatchOut(**await service.bank_return(uow.work(), principal, batch_id, body.file, clock.now()))


@router.get("/recoveries", response_model=PageOut[RecoveryOut], summary="Open recoveries (receivables)")
async def open_recoveries(
    principal: CurrentPrincipal, uow: UowDep, page: PageDep, district: DistrictQuery = None
) -> PageOut[RecoveryOut]:
    rows = await service.open_recoveries(uow.work(), principal, district)
    return PageOut.of(paged(rows, page, key=lambda r: f"{r['created_at'].isoformat()}/{r['id']}", tag="recoveries"), RecoveryOut)


class RepaidIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bank_reference: str = Field(min_length=1, max_length=100)


@router.post("/recoveries/{recovery_id}/repaid", response_model=RecoveryOut, summary="The recipient paid a receivable back")
async def repaid(recovery_id: UUID, body: RepaidIn, principal: CurrentPrincipal, uow: UowDep, clock: ClockDep) -> RecoveryOut:
    return RecoveryOut(**await service.mark_repaid(uow.work(), principal, recovery_id, body.bank_reference, clock.now()))


@router.put("/accounts/{firm_id}/bank-account", summary="The account subsidies are paid into")
async def set_bank_account(firm_id: UUID, principal: CurrentPrincipal, uow: UowDep, body: BankAccountIn = Body(...)) -> dict:
    row = await service.set_bank_account(uow.work(), principal, firm_id, body.bank_account, body.bank_name)
    return {"firm_id": str(row["firm_id"]), "bank_account": row["bank_account"], "bank_name": row["bank_name"]}
