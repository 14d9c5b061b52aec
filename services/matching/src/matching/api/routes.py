from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel

from matching.service import supplier_profiles as service
from opc_shared.auth import CurrentPrincipal, require_roles
from opc_shared.pagination import PageOut
from opc_shared.service import UowDep

router = APIRouter(prefix="/suppliers", tags=["suppliers"])
STAFF = require_roles("caseworker", "reviewer", "finance", "admin")


class SupplierProfileOut(BaseModel):
    firm_id: UUID
    firm_name: str
    district: str
    community: str | None
    status: str
    registered_at: datetime
    opened_at: datetime


@router.get("/{firm_id}", response_model=SupplierProfileOut)
async def get_one(firm_id: UUID, principal: CurrentPrincipal, uow: UowDep) -> SupplierProfileOut:
    return SupplierProfileOut.model_validate(await service.get(uow, principal=principal, firm_id=firm_id))


@router.get("", response_model=PageOut[SupplierProfileOut], dependencies=[STAFF])
async def list_all(
    principal: CurrentPrincipal,
    uow: UowDep,
    district: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> PageOut[SupplierProfileOut]:
    page = await service.list_for(uow, principal=principal, district=district, cursor=cursor, limit=limit)
    return PageOut[SupplierProfileOut](
        items=[SupplierProfileOut.model_validate(i) for i in page.items], next_cursor=page.next_cursor
    )
