from __future__ import annotations

from datetime import date
from uuid import UUID

from fastapi import APIRouter, Response
from pydantic import BaseModel

from opc_shared.auth import CurrentPrincipal
from opc_shared.concurrency import IfMatch, etag
from opc_shared.pagination import PageDep, PageOut
from opc_shared.scoping import DistrictQuery
from opc_shared.service import ClockDep, UowDep
from opc_shared.times import UtcDateTime
from registry.api.schemas import FirmStatusIn
from registry.service import firms as service

router = APIRouter(prefix="/firms", tags=["firms"])


class FirmOut(BaseModel):
    id: UUID
    name: str
    uscc: str | None
    district: str
    community: str | None
    registered_address: str | None
    founder_name: str
    business_lines: list[str]
    status: str
    status_since: date | None
    registered_at: UtcDateTime
    case_id: UUID | None
    version: int


class StatusEntryOut(BaseModel):
    status: str
    effective_date: date
    reason: str | None
    recorded_by: str
    recorded_at: UtcDateTime


@router.get("/{firm_id}", response_model=FirmOut)
async def get_firm(firm_id: UUID, principal: CurrentPrincipal, uow: UowDep, response: Response) -> FirmOut:
    firm = FirmOut.model_validate(await service.get_firm(uow, principal=principal, firm_id=firm_id))
    response.headers["ETag"] = etag(firm.version)
    return firm


@router.get("", response_model=PageOut[FirmOut])
async def list_firms(
    principal: CurrentPrincipal,
    uow: UowDep,
    page: PageDep,
    district: DistrictQuery = None,
) -> PageOut[FirmOut]:
    return PageOut.of(await service.list_firms(uow, principal=principal, district=district, page=page), FirmOut)


@router.post(
    "/{firm_id}/status",
    response_model=FirmOut,
    summary="Record a status change (operating, suspended, deregistered) with its date",
)
async def change_status(
    firm_id: UUID,
    body: FirmStatusIn,
    principal: CurrentPrincipal,
    uow: UowDep,
    clock: ClockDep,
    version: IfMatch,
    response: Response,
) -> FirmOut:
    firm = await service.change_status(
        uow,
        principal=principal,
        clock=clock,
        firm_id=firm_id,
        version=version,
        status=body.status,
        effective_date=body.effective_date,
        reason=body.reason,
    )
    response.headers["ETag"] = etag(firm["version"])
    return FirmOut.model_validate(firm)


@router.get("/{firm_id}/status-history", response_model=PageOut[StatusEntryOut], summary="Status changes, oldest first")
async def history(firm_id: UUID, principal: CurrentPrincipal, uow: UowDep, page: PageDep) -> PageOut[StatusEntryOut]:
    return PageOut.of(await service.status_history(uow, principal=principal, firm_id=firm_id, page=page), StatusEntryOut)
