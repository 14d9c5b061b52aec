from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel

from opc_shared.auth import CurrentPrincipal, require_roles
from opc_shared.pagination import PageDep, PageOut
from opc_shared.scoping import DistrictQuery
from opc_shared.service import UowDep
from opc_shared.times import UtcDateTime
from subsidy.service import accounts as service

router = APIRouter(prefix="/accounts", tags=["accounts"])
STAFF = require_roles("caseworker", "reviewer", "finance", "admin")


class SubsidyAccountOut(BaseModel):
    firm_id: UUID
    firm_name: str
    district: str
    community: str | None
    status: str
    registered_at: UtcDateTime
    opened_at: UtcDateTime
    uscc: str | None = None
    bank_name: str | None = None


@router.get("/{firm_id}", response_model=SubsidyAccountOut)
async def get_one(firm_id: UUID, principal: CurrentPrincipal, uow: UowDep) -> SubsidyAccountOut:
    return SubsidyAccountOut.model_validate(await service.get(uow, principal=principal, firm_id=firm_id))


@router.get("", response_model=PageOut[SubsidyAccountOut], dependencies=[STAFF])
async def list_all(
    principal: CurrentPrincipal,
    uow: UowDep,
    page: PageDep,
    district: DistrictQuery = None,
) -> PageOut[SubsidyAccountOut]:
    return PageOut.of(await service.list_for(uow, principal=principal, district=district, page=page), SubsidyAccountOut)
