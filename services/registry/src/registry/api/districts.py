from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from opc_shared.auth import CurrentPrincipal
from opc_shared.pagination import PageDep, PageOut
from opc_shared.service import UowDep
from registry.api.schemas import CityIn, CityOut, DistrictIn, DistrictOut
from registry.service import districts as service
from registry.service.places import require_city_admin

router = APIRouter(tags=["districts and cities"])
Code = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_-]{1,63}$")]


@router.get("/districts", response_model=PageOut[DistrictOut], summary="The district catalogue: code, GB/T 2260 division, city")
async def list_districts(
    principal: CurrentPrincipal, uow: UowDep, page: PageDep, city: Annotated[str | None, Query(max_length=64)] = None
) -> PageOut[DistrictOut]:
    del principal
    return PageOut.of(await service.page_districts(uow, city, page), DistrictOut)


@router.put("/districts/{code}", response_model=DistrictOut, summary="Add or correct a district (city-wide admins)")
async def put_district(code: Code, body: DistrictIn, principal: CurrentPrincipal, uow: UowDep) -> DistrictOut:
    require_city_admin(principal)
    row = await service.put_district(uow, code, body.model_dump())
    return DistrictOut.model_validate(row)


@router.get("/cities", response_model=PageOut[CityOut], summary="Cities served, with the business lines of their sandbox pilot")
async def list_cities(principal: CurrentPrincipal, uow: UowDep, page: PageDep) -> PageOut[CityOut]:
    del principal
    return PageOut.of(await service.page_cities(uow, page), CityOut)


@router.put("/cities/{code}", response_model=CityOut, summary="Add a city or change its sandbox pilot lines (city-wide admins)")
async def put_city(code: Code, body: CityIn, principal: CurrentPrincipal, uow: UowDep) -> CityOut:
    require_city_admin(principal)
    row = await service.put_city(uow, code, body.model_dump())
    return CityOut.model_validate(row)
