from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel

from compute_ledger.service import statements as service
from opc_shared.auth import CurrentPrincipal
from opc_shared.pagination import PageDep, PageOut, paged
from opc_shared.service import ClockDep, UowDep
from opc_shared.times import ApiDateTime, UtcDateTime

router = APIRouter(prefix="/firms", tags=["statements"])

Month = Annotated[str, Query(pattern=r"^(20[2-9]\d)-(0[1-9]|1[0-2])$", description="YYYY-MM (Asia/Shanghai)")]
AsOf = Annotated[ApiDateTime | None, Query(description="figures as the ledger had them at this moment (default: now)")]


class UsageGroup(BaseModel):
    vendor_id: UUID
    kind: str
    resource: str
    records: int
    gpu_seconds: int
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    amount_fen: int
    invoiced_fen: int
    pool_fen: int
    uninvoiced_fen: int
    flagged: int


class LateRecords(BaseModel):
    concerns_period: str
    records: int
    amount_fen: int


class InvoiceCategory(BaseModel):
    category: str
    amount_fen: int
    tax_fen: int
    total_fen: int
    reversed_fen: int
    net_fen: int


class InvoiceOut(BaseModel):
    number: str
    vendor_id: UUID
    issued_on: date
    status: str
    problems: list[dict]
    categories: list[InvoiceCategory]


class ReversalOut(BaseModel):
    number: str
    reverses: str
    issued_on: date
    reason: str
    total_fen: int


class PoolAttributionOut(BaseModel):
    settlement_id: UUID
    pool_id: UUID
    category: str
    units: int
    amount_fen: int
    tax_fen: int
    total_fen: int
    settled_at: UtcDateTime


class SnapshotCategory(BaseModel):
    category: str
    records: int
    amount_fen: int
    invoiced_fen: int
    uninvoiced_fen: int
    pool_fen: int


class SnapshotOut(BaseModel):
    closed_at: UtcDateTime
    categories: list[SnapshotCategory]


class StatementOut(BaseModel):
    firm_id: UUID
    firm_name: str
    district: str
    month: str
    as_of: UtcDateTime
    compute_invoiced_fen: int
    tokens_invoiced_fen: int
    invoices_net_fen: dict[str, int]
    pool_attributed_fen: dict[str, int]
    usage: list[UsageGroup]
    late_records: list[LateRecords]
    invoices: list[InvoiceOut]
    reversals: list[ReversalOut]
    pool_attributions: list[PoolAttributionOut]
    closed: bool
    snapshot: SnapshotOut | None


class MeterRow(BaseModel):
    bucket: UtcDateTime
    vendor_id: UUID
    kind: str
    resource: str
    records: int
    gpu_seconds: int
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    amount_fen: int
    invoiced_fen: int
    pool_fen: int
    uninvoiced_fen: int
    max_amount_fen: int
    latest_ended_at: UtcDateTime


@router.get(
    "/{firm_id}/statement",
    response_model=StatementOut,
    summary="A firm's month: usage, invoices net of reversals, pool attributions, and what counts for subsidy",
)
async def statement(
    firm_id: UUID, month: Month, principal: CurrentPrincipal, uow: UowDep, clock: ClockDep, as_of: AsOf = None
) -> StatementOut:
    firm = await service.readable_firm(uow, principal, firm_id)
    return StatementOut.model_validate(await service.statement(uow, firm, month, as_of or clock.now()))


@router.get(
    "/{firm_id}/statement.csv",
    response_class=Response,
    summary="The same statement as CSV",
    responses={200: {"content": {"text/csv": {}}}},
)
async def statement_csv(
    firm_id: UUID, month: Month, principal: CurrentPrincipal, uow: UowDep, clock: ClockDep, as_of: AsOf = None
) -> Response:
    firm = await service.readable_firm(uow, principal, firm_id)
    body = service.statement_csv(await service.statement(uow, firm, month, as_of or clock.now()))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="statement-{firm_id}-{month}.csv"'},
    )


@router.get("/{firm_id}/meters", response_model=PageOut[MeterRow], summary="Usage meters per vendor × kind × GPU/model × period")
async def meters(
    firm_id: UUID,
    principal: CurrentPrincipal,
    uow: UowDep,
    clock: ClockDep,
    page: PageDep,
    granularity: Literal["hour", "day", "month"] = "day",
    month: Annotated[str | None, Query(pattern=r"^(20[2-9]\d)-(0[1-9]|1[0-2])$")] = None,
    start: Annotated[ApiDateTime | None, Query(alias="from")] = None,
    end: Annotated[ApiDateTime | None, Query(alias="to")] = None,
    vendor_id: UUID | None = None,
    kind: Literal["gpu", "tokens"] | None = None,
) -> PageOut[MeterRow]:
    await service.readable_firm(uow, principal, firm_id)
    start, end = service.meter_window(granularity, month, start, end, clock.now())
    query = service.MeterQuery(granularity, start, end, vendor_id, kind)
    rows = await service.meters(uow, firm_id, query)
    key = lambda r: f"{r['bucket'].isoformat()}/{r['vendor_id']}/{r['kind']}/{r['resource']}"  # noqa: E731
    return PageOut.of(paged(rows, page, key=key, tag="meters"), MeterRow)
