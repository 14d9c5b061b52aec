from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel

from compute_ledger.service import firm_accounts as service
from opc_shared.auth import CurrentPrincipal, require_roles
from opc_shared.pagination import PageDep, PageOut
from opc_shared.scoping import DistrictQuery
from opc_shared.service import UowDep
from opc_shared.times import UtcDateTime

router = APIRouter(prefix="/firm-accounts", tags=["firm-accounts"])
STAFF = require_roles("caseworker", "reviewer", "finance", "admin")


class LedgerAccountOut(BaseModel):
    firm_id: UUID
    firm_name: str
    district: str
    community: str | None
    status: str
    registered_at: UtcDateTime
    opened_at: UtcDateTime


@router.get("/{firm_id}", response_model=LedgerAccountOut)
async def get_one(firm_id: UUID, principal: CurrentPrincipal, uow: UowDep) -> LedgerAccountOut:
    return LedgerAccountOut.model_validate(await service.get(uow, principal=principal, firm_id=firm_id))


@router.get("", response_model=PageOut[LedgerAccountOut], dependencies=[STAFF])
async def list_all(
    principal: CurrentPrincipal,
    uow: UowDep,
    page: PageDep,
    district: DistrictQuery = None,
) -> PageOut[LedgerAccountOut]:
    return PageOut.of(await service.list_for(uow, principal=principal, district=district, page=page), LedgerAccountOut)
