from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Path
from fastapi.responses import JSONResponse

from opc_shared.auth import CurrentPrincipal
from opc_shared.idempotency import IdempotencyDep
from opc_shared.pagination import PageDep, PageOut
from opc_shared.scoping import DistrictQuery
from opc_shared.service import ClockDep, UowDep
from registry.api.schemas import (
    BusinessLineIn,
    BusinessLineOut,
    CalendarYearIn,
    CalendarYearOut,
    CommunityIn,
    CommunityOut,
    WorkstationIn,
    WorkstationList,
    WorkstationOut,
)
from registry.service import places as service

router = APIRouter(tags=["communities, catalogue, calendar"])
Year = Annotated[int, Path(ge=2000, le=2100)]


@router.post("/communities", status_code=201, response_model=CommunityOut)
async def create_community(body: CommunityIn, principal: CurrentPrincipal, clock: ClockDep, idem: IdempotencyDep):
    async def work(uow):
        return 201, CommunityOut.model_validate(
            await service.create_community(uow, principal, body.model_dump(mode="json"), clock.now())
        )

    return await idem.execute(body, work)


@router.get("/communities", response_model=PageOut[CommunityOut], summary="A district's communities, by name")
async def list_communities(
    principal: CurrentPrincipal, uow: UowDep, page: PageDep, district: DistrictQuery = None
) -> PageOut[CommunityOut]:
    return PageOut.of(await service.list_communities(uow, principal, district, page), CommunityOut)


#: One request adds at most this many workstations (Haishu's largest building has 67).
MAX_WORKSTATIONS_PER_REQUEST = 200
WorkstationBatch = Annotated[list[WorkstationIn], Body(min_length=1, max_length=MAX_WORKSTATIONS_PER_REQUEST)]


@router.post(
    "/communities/{community_id}/workstations",
    status_code=201,
    response_model=list[WorkstationOut],
    summary="Add 1–200 workstations (Idempotency-Key honoured)",
)
async def add_workstations(
    community_id: UUID, body: WorkstationBatch, principal: CurrentPrincipal, idem: IdempotencyDep
) -> JSONResponse:
    items = [w.model_dump() for w in body]

    async def work(uow):
        rows = await service.add_workstations(uow, principal, community_id, items)
        return 201, WorkstationList([WorkstationOut.model_validate(r) for r in rows])

    return await idem.execute({"community_id": str(community_id), "items": items}, work)


@router.get(
    "/communities/{community_id}/workstations",
    response_model=PageOut[WorkstationOut],
    summary="Workstations and who sits where, by code",
)
async def list_workstations(
    community_id: UUID, principal: CurrentPrincipal, uow: UowDep, page: PageDep
) -> PageOut[WorkstationOut]:
    return PageOut.of(await service.list_workstations(uow, principal, community_id, page), WorkstationOut)


@router.get("/business-lines", response_model=PageOut[BusinessLineOut], summary="The business-line catalogue, by code")
async def list_lines(principal: CurrentPrincipal, uow: UowDep, page: PageDep) -> PageOut[BusinessLineOut]:
    del principal
    return PageOut.of(await service.list_lines(uow, page), BusinessLineOut)


@router.put("/business-lines/{code}", response_model=BusinessLineOut)
async def put_line(
    code: Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{1,63}$")], body: BusinessLineIn, principal: CurrentPrincipal, uow: UowDep
) -> BusinessLineOut:
    row = await service.upsert_line(uow, principal, code, body.model_dump(mode="json"))
    return BusinessLineOut.model_validate(row)


@router.get("/calendar/{year}", response_model=CalendarYearOut)
async def get_calendar(year: Year, principal: CurrentPrincipal, uow: UowDep) -> CalendarYearOut:
    del principal
    return CalendarYearOut.model_validate(await service.get_calendar_year(uow, year))


@router.put(
    "/calendar/{year}", response_model=CalendarYearOut, summary="Load or replace a year's holidays and adjusted working days"
)
async def put_calendar(
    year: Year, body: CalendarYearIn, principal: CurrentPrincipal, uow: UowDep, clock: ClockDep
) -> CalendarYearOut:
    await service.put_calendar_year(uow, principal, year, [d.model_dump() for d in body.days], body.source, clock.now())
    return CalendarYearOut.model_validate(await service.get_calendar_year(uow, year))


@router.post("/calendar/{year}/seed", response_model=CalendarYearOut, summary="Load a year from the chinese-calendar package")
async def seed_calendar(year: Year, principal: CurrentPrincipal, uow: UowDep, clock: ClockDep) -> CalendarYearOut:
    await service.seed_calendar_year(uow, principal, year, clock.now())
    return CalendarYearOut.model_validate(await service.get_calendar_year(uow, year))
