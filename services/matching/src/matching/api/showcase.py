from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from matching.api.schemas import AssignmentOut, ExposureOut, RoadshowIn, RoadshowOut, SelectionIn, SelectionOut
from matching.service import assignments, exposure, showcase
from matching.service.ranking import IndexHolder, holder_of
from opc_shared.auth import CurrentPrincipal
from opc_shared.idempotency import IdempotencyDep
from opc_shared.pagination import PageDep, PageOut, paged
from opc_shared.scoping import DistrictQuery
from opc_shared.service import ClockDep, UowDep

router = APIRouter(tags=["roadshows and exposure"])


def _holder(request: Request) -> IndexHolder:
    return holder_of(request.app.state)


@router.post(
    "/roadshows", status_code=201, response_model=RoadshowOut, summary="A 1+N roadshow: one demand owner, N matched OPCs"
)
async def schedule(
    body: RoadshowIn, principal: CurrentPrincipal, clock: ClockDep, idem: IdempotencyDep, holder: IndexHolder = Depends(_holder)
) -> JSONResponse:
    async def work(w):
        row = await showcase.schedule_roadshow(
            w,
            principal=principal,
            now=clock.now(),
            holder=holder,
            demand_id=body.demand_id,
            title=body.title,
            held_at=body.held_at,
            n=body.n,
            firm_ids=body.firm_ids,
            agenda=[a.model_dump() for a in body.agenda],
        )
        return 201, RoadshowOut.model_validate(await showcase.get_roadshow(w, principal=principal, roadshow_id=row["id"]))

    return await idem.execute(body, work)


@router.get("/roadshows/{roadshow_id}", response_model=RoadshowOut)
async def get_roadshow(roadshow_id: UUID, principal: CurrentPrincipal, uow: UowDep) -> RoadshowOut:
    return RoadshowOut.model_validate(await showcase.get_roadshow(uow, principal=principal, roadshow_id=roadshow_id))


@router.get("/roadshows/{roadshow_id}/export", summary="The list and agenda as CSV", response_class=Response)
async def export(roadshow_id: UUID, principal: CurrentPrincipal, uow: UowDep) -> Response:
    roadshow = await showcase.get_roadshow(uow, principal=principal, roadshow_id=roadshow_id)
    return Response(
        showcase.export_csv(roadshow),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="roadshow-{roadshow_id}.csv"'},
    )


@router.post(
    "/scenario-demos/selections",
    status_code=201,
    response_model=list[SelectionOut],
    summary="The year's selection (≤ 20 in Chengdu)",
)
async def select(body: SelectionIn, principal: CurrentPrincipal, uow: UowDep, clock: ClockDep) -> list[SelectionOut]:
    chosen = await showcase.select_year(
        uow, principal=principal, now=clock.now(), city=body.city, year=body.year, nomination_ids=body.nomination_ids
    )
    return [SelectionOut.model_validate(s) for s in chosen]


@router.post(
    "/assignments/proposal",
    response_model=AssignmentOut,
    summary="Open demands assigned at once under capacities (staff proposal)",
)
async def assignment_proposal(
    principal: CurrentPrincipal,
    uow: UowDep,
    clock: ClockDep,
    holder: IndexHolder = Depends(_holder),
    district: DistrictQuery = None,
) -> AssignmentOut:
    return AssignmentOut.model_validate(
        await assignments.propose(uow, principal=principal, district=district, holder=holder, now=clock.now())
    )


@router.get("/exposure", response_model=PageOut[ExposureOut], summary="Exposure Gini and offer share per district (admins)")
async def exposure_figures(
    principal: CurrentPrincipal,
    uow: UowDep,
    clock: ClockDep,
    page: PageDep,
    district: DistrictQuery = None,
) -> PageOut[ExposureOut]:
    rows = [
        ExposureOut.model_validate(r, from_attributes=True)
        for r in await exposure.figures(uow, principal=principal, district=district, now=clock.now())
    ]
    found = paged(rows, page, key=lambda r: r.district or "", tag="exposure")  # "" (all districts together) first
    return PageOut[ExposureOut](items=found.items, next_cursor=found.next_cursor)
