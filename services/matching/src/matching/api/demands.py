from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from matching.api.schemas import (
    CandidateOut,
    CandidatesOut,
    CompleteIn,
    DemandIn,
    DemandOut,
    DispatchIn,
    MemberOut,
    NominationOut,
    OfferOut,
    TeamAwardIn,
    TeamOut,
    TimelineEntry,
)
from matching.domain.demand import Demand
from matching.service import demands as service
from matching.service import dispatch, showcase
from matching.service.demands import DemandCall
from matching.service.ranking import IndexHolder, holder_of
from opc_shared.auth import CurrentPrincipal
from opc_shared.concurrency import IfMatch, with_etag
from opc_shared.idempotency import IdempotencyDep
from opc_shared.pagination import PageDep, PageOut, paged
from opc_shared.scoping import DistrictQuery
from opc_shared.service import ClockDep, UowDep

router = APIRouter(prefix="/demands", tags=["demands"])


async def _call(demand_id: UUID, principal: CurrentPrincipal, uow: UowDep, clock: ClockDep) -> DemandCall:
    return DemandCall(uow=uow, principal=principal, clock=clock, demand_id=demand_id)


async def _versioned(demand_id: UUID, principal: CurrentPrincipal, uow: UowDep, clock: ClockDep, version: IfMatch) -> DemandCall:
    return DemandCall(uow=uow, principal=principal, clock=clock, demand_id=demand_id, version=version)


async def _holder(request: Request) -> IndexHolder:
    return holder_of(request.app.state)


Call = Annotated[DemandCall, Depends(_call)]
Versioned = Annotated[DemandCall, Depends(_versioned)]
Holder = Annotated[IndexHolder, Depends(_holder)]


def _out(demand: Demand, status: int = 200) -> JSONResponse:
    return with_etag(DemandOut.model_validate(demand, from_attributes=True), demand.version, status)


@router.post("", status_code=201, response_model=DemandOut, summary="Post a demand (open at once unless publish is false)")
async def create(body: DemandIn, principal: CurrentPrincipal, clock: ClockDep, idem: IdempotencyDep) -> JSONResponse:
    async def work(w):
        demand = await service.create(w, principal=principal, clock=clock, form_=body.model_dump())
        return 201, DemandOut.model_validate(demand, from_attributes=True)

    return await idem.execute(body, work)


@router.get("", response_model=PageOut[DemandOut], summary="The demand list: yours, your district's, or the open ones for firms")
async def list_demands(
    principal: CurrentPrincipal,
    uow: UowDep,
    page: PageDep,
    status: Annotated[str | None, Query(pattern="^(draft|open|matched|in_progress|completed|cancelled)$")] = None,
    district: DistrictQuery = None,
) -> PageOut[DemandOut]:
    found = await service.list_for(uow, principal=principal, status=status, district=district, page=page)
    return PageOut.of(found, DemandOut)


@router.get("/{demand_id}", response_model=DemandOut)
async def get_one(call: Call) -> JSONResponse:
    return _out(await service.get(call))


@router.get("/{demand_id}/candidates", response_model=CandidatesOut, summary="Ranked suppliers with reasons (zh-CN, en)")
async def candidates(call: Call, holder: Holder, limit: Annotated[int, Query(ge=1, le=100)] = 20) -> CandidatesOut:
    ranked = await service.candidates(call, holder, limit)
    index = holder.index
    items = []
    for c in ranked:
        facts = index.facts(c.firm_id)
        items.append(
            CandidateOut(
                firm_id=c.firm_id,
                firm_name=facts.firm_name if facts else "",
                district=facts.district if facts else "",
                score=c.score,
                components=c.components,
                covered=list(c.covered),
                missing=list(c.missing),
                explanation=c.explanation,
            )
        )
    return CandidatesOut(demand_id=call.demand_id, items=items)


@router.get(
    "/{demand_id}/team", response_model=TeamOut, summary="The best team (≤ 5 firms with a lead), with each member's reason"
)
async def team(call: Call, holder: Holder) -> TeamOut:
    proposed = await service.team(call, holder)
    members = []
    for m in proposed.members:
        facts = holder.index.facts(m.firm_id)
        members.append(
            MemberOut(
                firm_id=m.firm_id,
                firm_name=facts.firm_name if facts else "",
                lead=m.lead,
                covers=list(m.covers),
                score=m.score,
                reason=m.reason,
            )
        )
    return TeamOut(
        demand_id=call.demand_id,
        members=members,
        objective=proposed.objective,
        price_fen=proposed.price_fen,
        optimal=proposed.optimal,
        candidates_considered=proposed.considered,
    )


@router.get(
    "/{demand_id}/timeline", response_model=PageOut[TimelineEntry], summary="Everything that happened to the demand, oldest first"
)
async def timeline(call: Call, page: PageDep) -> PageOut[TimelineEntry]:
    entries = [{**r, "_n": f"{i:08d}"} for i, r in enumerate(await service.timeline(call))]
    return PageOut.of(paged(entries, page, key=lambda r: r["_n"], tag="demand-timeline"), TimelineEntry)


@router.post("/{demand_id}/publish", response_model=DemandOut)
async def publish(call: Versioned) -> JSONResponse:
    return _out(await service.publish(call))


@router.post("/{demand_id}/dispatch", response_model=list[OfferOut], summary="Offer the order to the top few at once")
async def dispatch_demand(call: Versioned, holder: Holder, body: DispatchIn | None = None) -> list[OfferOut]:
    body = body or DispatchIn()
    made = await dispatch.dispatch(call, holder, fan_out=body.fan_out, timeout_s=body.timeout_s)
    return [OfferOut.model_validate(r) for r in made]


@router.post("/{demand_id}/award-team", response_model=DemandOut, summary="Give the demand to a team (lead + partners)")
async def award_team(call: Versioned, body: TeamAwardIn) -> JSONResponse:
    return _out(await service.award_team(call, lead=body.lead_firm_id, members=body.member_firm_ids))


@router.post("/{demand_id}/start", response_model=DemandOut)
async def start(call: Versioned) -> JSONResponse:
    return _out(await service.start(call))


@router.post("/{demand_id}/complete", response_model=DemandOut)
async def complete(call: Versioned, body: CompleteIn) -> JSONResponse:
    return _out(await service.complete(call, actual_investment_fen=body.actual_investment_fen, rating=body.rating))


@router.post("/{demand_id}/cancel", response_model=DemandOut)
async def cancel(call: Versioned) -> JSONResponse:
    return _out(await service.cancel(call))


@router.post(
    "/{demand_id}/nominate",
    status_code=201,
    response_model=NominationOut,
    summary="Nominate a completed engagement as a scenario demonstration",
)
async def nominate(call: Call) -> NominationOut:
    return NominationOut.model_validate(await showcase.nominate(call))
