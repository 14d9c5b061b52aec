from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from opc_shared.auth import CurrentPrincipal, require_roles
from opc_shared.clock import SystemClock
from opc_shared.idempotency import IdempotencyDep
from opc_shared.pagination import PageOut
from opc_shared.service import UowDep
from registry.api.schemas import FirmOut, FirmRegistration
from registry.service import firms as service

router = APIRouter(prefix="/firms", tags=["firms"])
clock = SystemClock()


@router.post("", status_code=201, response_model=FirmOut, dependencies=[require_roles("caseworker", "admin")])
async def register_firm(body: FirmRegistration, principal: CurrentPrincipal, idem: IdempotencyDep):
    async def work(uow):
        firm = await service.register_firm(uow, principal=principal, clock=clock, **body.model_dump())
        return 201, FirmOut.model_validate(firm)

    return await idem.execute(body, work)


@router.get("/{firm_id}", response_model=FirmOut)
async def get_firm(firm_id: UUID, principal: CurrentPrincipal, uow: UowDep) -> FirmOut:
    return FirmOut.model_validate(await service.get_firm(uow, principal=principal, firm_id=firm_id))


@router.get("", response_model=PageOut[FirmOut])
async def list_firms(
    principal: CurrentPrincipal,
    uow: UowDep,
    district: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> PageOut[FirmOut]:
    page = await service.list_firms(uow, principal=principal, district=district, cursor=cursor, limit=limit)
    return PageOut[FirmOut](items=[FirmOut.model_validate(i) for i in page.items], next_cursor=page.next_cursor)
