from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from matching.api.schemas import OfferOut, ProfileIn, SupplierProfileOut
from matching.service import dispatch
from matching.service import supplier_profiles as service
from opc_shared.auth import CurrentPrincipal, require_roles
from opc_shared.concurrency import IfMatch, with_etag
from opc_shared.pagination import PageDep, PageOut, paged
from opc_shared.scoping import DistrictQuery
from opc_shared.service import ClockDep, UowDep

router = APIRouter(prefix="/suppliers", tags=["suppliers"])
STAFF = require_roles("caseworker", "reviewer", "finance", "admin")


@router.get("/{firm_id}", response_model=SupplierProfileOut, summary="One supplier profile (its firm, or its district's staff)")
async def get_one(firm_id: UUID, principal: CurrentPrincipal, uow: UowDep) -> JSONResponse:
    row = await service.get(uow, principal=principal, firm_id=firm_id)
    return with_etag(SupplierProfileOut.of(row), row["version"])


@router.put("/{firm_id}/profile", response_model=SupplierProfileOut, summary="The firm completes or edits its profile")
async def complete(
    firm_id: UUID, body: ProfileIn, principal: CurrentPrincipal, uow: UowDep, clock: ClockDep, version: IfMatch
) -> JSONResponse:
    profile = body.model_dump(mode="json")
    row = await service.complete(uow, principal=principal, firm_id=firm_id, version=version, profile=profile, now=clock.now())
    return with_etag(SupplierProfileOut.of(row), row["version"])


@router.get("/{firm_id}/offers", response_model=PageOut[OfferOut], summary="The firm's offers, newest first")
async def offers(
    firm_id: UUID,
    principal: CurrentPrincipal,
    uow: UowDep,
    page: PageDep,
    status: Annotated[str | None, Query(pattern="^(offered|accepted|declined|expired|withdrawn)$")] = None,
) -> PageOut[OfferOut]:
    rows = await dispatch.offers_for_firm(uow, principal, firm_id, status)
    key = lambda r: f"{r['offered_at'].isoformat()}/{r['id']}"  # noqa: E731
    return PageOut.of(paged(rows, page, key=key, tag="offers", descending=True), OfferOut)


@router.get("", response_model=PageOut[SupplierProfileOut], dependencies=[STAFF], summary="The supply list of a district")
async def list_all(
    principal: CurrentPrincipal,
    uow: UowDep,
    page: PageDep,
    district: DistrictQuery = None,
) -> PageOut[SupplierProfileOut]:
    found = await service.list_for(uow, principal=principal, district=district, page=page)
    return PageOut[SupplierProfileOut](items=[SupplierProfileOut.of(dict(r)) for r in found.items], next_cursor=found.next_cursor)
