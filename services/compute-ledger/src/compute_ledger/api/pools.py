from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from compute_ledger.service import pools as service
from opc_shared.auth import CurrentPrincipal
from opc_shared.idempotency import IdempotencyDep
from opc_shared.service import ClockDep, UowDep
from opc_shared.times import UtcDateTime

router = APIRouter(prefix="/pools", tags=["community pools"])

Period = Annotated[str, Field(pattern=r"^(20[2-9]\d)-(0[1-9]|1[0-2])$")]
InvoiceNumber = Annotated[str, Field(pattern=r"^\d{20}$")]


class PoolIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    community_id: UUID
    vendor_id: UUID
    kind: Literal["gpu", "tokens"]
    quantity: int = Field(gt=0, le=10**15, description="GPU-seconds or tokens")
    price_fen: int = Field(ge=0, le=10**13, description="what the community pays, tax included")
    invoice_number: InvoiceNumber | None = None


class AllocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quota: int = Field(ge=0, le=10**15)


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_firm_id: UUID
    to_firm_id: UUID
    units: int = Field(gt=0, le=10**15)


class InvoiceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    invoice_number: InvoiceNumber


class SettleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: Period | None = Field(default=None, description="the month settled (default: this month)")


class AllocationOut(BaseModel):
    firm_id: UUID
    quota: int
    drawn: int
    over_quota: int
    settled_drawn: int


class PoolOut(BaseModel):
    id: UUID
    community_id: UUID
    vendor_id: UUID
    kind: str
    quantity: int
    price_fen: int
    invoice_number: str | None
    invoiced_cost_fen: int | None
    settled_units: int
    settled_fen: int
    created_at: UtcDateTime
    allocations: list[AllocationOut]


class ShareOut(BaseModel):
    firm_id: UUID
    units: int
    amount_fen: int
    tax_fen: int
    total_fen: int


class SettlementOut(BaseModel):
    settlement_id: UUID
    pool_id: UUID
    period: str
    units: int
    total_fen: int
    tax_fen: int
    settled_at: UtcDateTime
    shares: list[ShareOut]


class SettlementStatementOut(BaseModel):
    settlement_id: UUID
    pool_id: UUID
    community_id: UUID
    vendor_id: UUID
    firm_id: UUID
    period: str
    category: str
    kind: str
    units: int
    settlement_units: int
    settlement_total_fen: int
    amount_fen: int
    tax_fen: int
    total_fen: int
    invoice_number: str | None
    settled_at: UtcDateTime


@router.post("", status_code=201, response_model=PoolOut, summary="A community buys a pool from a vendor")
async def create(body: PoolIn, principal: CurrentPrincipal, clock: ClockDep, idem: IdempotencyDep):
    async def work(uow):
        return 201, PoolOut.model_validate(await service.create(uow, principal, body.model_dump(), clock.now()))

    return await idem.execute(body, work)


@router.get("/{pool_id}", response_model=PoolOut)
async def get(pool_id: UUID, principal: CurrentPrincipal, uow: UowDep) -> PoolOut:
    return PoolOut.model_validate(await service.get(uow, principal, pool_id))


@router.post("/{pool_id}/invoice", response_model=PoolOut, summary="Tie the pool to the community's recorded invoice")
async def attach_invoice(pool_id: UUID, body: InvoiceIn, principal: CurrentPrincipal, uow: UowDep) -> PoolOut:
    await service.attach_invoice(uow, principal, pool_id, body.invoice_number)
    return PoolOut.model_validate(await service.get(uow, principal, pool_id))


@router.put("/{pool_id}/allocations/{firm_id}", response_model=PoolOut, summary="Set a member firm's quota")
async def allocate(pool_id: UUID, firm_id: UUID, body: AllocationIn, principal: CurrentPrincipal, uow: UowDep) -> PoolOut:
    return PoolOut.model_validate(await service.allocate(uow, principal, pool_id, firm_id, body.quota))


@router.post("/{pool_id}/transfers", response_model=PoolOut, summary="Move unused quota between member firms")
async def transfer(pool_id: UUID, body: TransferIn, principal: CurrentPrincipal, uow: UowDep) -> PoolOut:
    pool = await service.transfer(uow, principal, pool_id, body.from_firm_id, body.to_firm_id, body.units)
    return PoolOut.model_validate(pool)


@router.post("/{pool_id}/settlements", status_code=201, response_model=SettlementOut, summary="Settle now (on demand)")
async def settle(pool_id: UUID, body: SettleIn, principal: CurrentPrincipal, uow: UowDep, clock: ClockDep) -> SettlementOut:
    result = await service.settle_pool(uow, pool_id, period=body.period, now=clock.now(), principal=principal)
    return SettlementOut.model_validate(result)


@router.get(
    "/settlements/{settlement_id}/firms/{firm_id}",
    response_model=SettlementStatementOut,
    summary="A firm's settlement statement (evidence of its subsidy base)",
)
async def settlement_statement(
    settlement_id: UUID, firm_id: UUID, principal: CurrentPrincipal, uow: UowDep
) -> SettlementStatementOut:
    return SettlementStatementOut.model_validate(await service.settlement_statement(uow, principal, settlement_id, firm_id))
