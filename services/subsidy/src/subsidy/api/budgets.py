from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from opc_shared.auth import CurrentPrincipal, require_roles
from opc_shared.errors import Forbidden
from opc_shared.money import NonNegativeFen
from opc_shared.pagination import PageDep, PageOut, paged
from opc_shared.service import UowDep
from subsidy.service import budgets as service

router = APIRouter(prefix="/budgets", tags=["budgets"])


class BudgetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    programme: str = Field(min_length=1, max_length=64)
    year: int = Field(ge=2000, le=2200)
    scope: str = Field(min_length=1, max_length=64, description='a district code, or "*" for the city')
    total_fen: NonNegativeFen


class BudgetOut(BaseModel):
    id: UUID
    programme: str
    year: int
    scope: str
    total_fen: int
    reserved_fen: int
    committed_fen: int
    left_fen: int


@router.post("", status_code=201, response_model=BudgetOut, dependencies=[require_roles("admin", "finance")])
async def create(body: BudgetIn, principal: CurrentPrincipal, uow: UowDep) -> BudgetOut:
    if principal.district != "*" and body.scope != principal.district:
        raise Forbidden(f"scope {body.scope} is not yours")
    row = await service.create(uow.work(), body.programme, body.year, body.scope, body.total_fen)
    return BudgetOut(**row)


@router.get(
    "",
    response_model=PageOut[BudgetOut],
    summary="Reserved, committed and left, per programme",
    dependencies=[require_roles("admin", "finance", "reviewer")],
)
async def figures(
    principal: CurrentPrincipal, uow: UowDep, page: PageDep, year: Annotated[int, Query(ge=2000, le=2200)]
) -> PageOut[BudgetOut]:
    scope = None if principal.district == "*" else principal.district
    rows = await service.list_for(uow.work(), year, scope)
    return PageOut.of(paged(rows, page, key=lambda r: f"{r['programme']}/{r['scope']}", tag="budgets"), BudgetOut)
