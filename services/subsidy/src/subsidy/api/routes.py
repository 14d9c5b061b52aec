from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel

from opc_shared.auth import CurrentPrincipal, require_roles
from opc_shared.pagination import PageOut
from opc_shared.service import UowDep
from subsidy.service import accounts as service

router = APIRouter(prefix="/accounts", tags=["accounts"])
STAFF = require_roles("caseworker", "reviewer", "finance", "admin")


class SubsidyAccountOut(BaseModel):
    firm_id: UUID
    firm_name: str
    district: str
    community: str | None
    status: str
    registered_at: datetime
    opened_at: datetime


@router.get("/{firm_id}", response_model=SubsidyAccountOut)
async def get_one(firm_id: UUID, principal: CurrentPrincipal, uow: UowDep) -> SubsidyAccountOut:
    return SubsidyAccountOut.model_validate(await service.get(uow, principal=principal, firm_id=firm_id))


@router.get("", response_model=PageOut[SubsidyAccountOut], dependencies=[STAFF])
async def list_all(
    principal: CurrentPrincipal,
    uow: UowDep,
    district: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> PageOut[SubsidyAccountOut]:
    page = await service.list_for(uow, principal=principal, district=district, cursor=cursor, limit=limit)
    return PageOut[SubsidyAccountOut](
        items=[SubsidyAccountOut.model_validate(i) for i in page.items], next_cursor=page.next_cursor
    )
