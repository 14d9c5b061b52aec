from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from opc_shared.auth import CurrentPrincipal
from opc_shared.clock import Clock
from opc_shared.concurrency import IfMatch, with_etag
from opc_shared.db import UnitOfWork
from opc_shared.idempotency import IdempotencyDep
from opc_shared.pagination import PageDep, PageOut, page_response
from opc_shared.problems import pick_language
from opc_shared.scoping import DistrictQuery
from opc_shared.service import ClockDep, UowDep
from opc_shared.times import ApiDate
from registry.api.render import case_out
from registry.api.schemas import (
    AssignIn,
    CaseCreate,
    CaseForm,
    CaseOut,
    CaseSummary,
    CorrectionIn,
    DecisionIn,
    ExtensionIn,
    ProgressOut,
    SignoffIn,
    StepIn,
    SupplyIn,
    TimelineOut,
    WithdrawIn,
)
from registry.domain.case import Case
from registry.domain.progress import describe
from registry.service import cases as service
from registry.service import queries
from registry.service.cases import CaseCall

router = APIRouter(prefix="/cases", tags=["cases"])


async def _case_call(case_id: UUID, principal: CurrentPrincipal, uow: UowDep, clock: ClockDep, version: IfMatch) -> CaseCall:
    return CaseCall(uow=uow, principal=principal, clock=clock, case_id=case_id, version=version)


#: Every action on a case: If-Match is required (428 without it, 412 when stale).
Call = Annotated[CaseCall, Depends(_case_call)]


async def _respond(call: CaseCall, case: Case) -> JSONResponse:
    return await _render(call.uow, call.clock, case)


async def _render(uow: UnitOfWork, clock: Clock, case: Case) -> JSONResponse:
    return with_etag(case_out(case, await service.calendar_for(uow), clock.now()), case.version)


def _form(body: CaseForm) -> dict:
    return body.model_dump(mode="json", exclude_unset=True, exclude={"founder_account"})


@router.post("", status_code=201, response_model=CaseOut, summary="Open a case: save the one form as a draft")
async def create(body: CaseCreate, principal: CurrentPrincipal, clock: ClockDep, idem: IdempotencyDep) -> JSONResponse:
    async def work(uow):
        case = await service.create_draft(
            uow, principal=principal, clock=clock, form=_form(body), founder_sub=body.founder_account
        )
        return 201, case_out(case, await service.calendar_for(uow), clock.now())

    return await idem.execute(body, work)


@router.get("", response_model=PageOut[CaseSummary], summary="Queue: cases by status, owner, community and SLA risk")
async def list_cases(
    principal: CurrentPrincipal,
    uow: UowDep,
    clock: ClockDep,
    page: PageDep,
    status: Annotated[str | None, Query(max_length=32)] = None,
    owner: Annotated[str | None, Query(max_length=200)] = None,
    community_id: UUID | None = None,
    sla_risk: Annotated[str | None, Query(pattern="^(on_track|at_risk|overdue)$")] = None,
    district: DistrictQuery = None,
) -> Response:
    found = await queries.queue(
        uow,
        principal=principal,
        now=clock.now(),
        district=district,
        status=status,
        owner=owner,
        community_id=community_id,
        sla_risk=sla_risk,
        page=page,
    )
    return page_response(found)


@router.get("/{case_id}", response_model=CaseOut, summary="One case; its ETag is the version actions send in If-Match")
async def get_case(case_id: UUID, principal: CurrentPrincipal, uow: UowDep, clock: ClockDep) -> JSONResponse:
    return await _render(uow, clock, await service.get_visible(uow, principal, case_id))


@router.patch("/{case_id}", response_model=CaseOut, summary="Edit a draft")
async def update(body: CaseForm, call: Call) -> JSONResponse:
    return await _respond(call, await service.update_draft(call, _form(body)))


@router.post("/{case_id}/submit", response_model=CaseOut, summary="Submit the form; missing materials come back in one notice")
async def submit(call: Call) -> JSONResponse:
    return await _respond(call, await service.submit(call))


@router.post(
    "/{case_id}/materials/{code}", response_model=CaseOut, summary="Supply one material (document reference and SHA-256)"
)
async def supply(code: str, body: SupplyIn, call: Call) -> JSONResponse:
    return await _respond(call, await service.supply_material(call, code, body.document_ref, body.checksum))


@router.post("/{case_id}/accept", response_model=CaseOut, summary="受理: accept a complete case; the licence clock starts")
async def accept(call: Call) -> JSONResponse:
    return await _respond(call, await service.accept(call))


@router.post("/{case_id}/corrections", response_model=CaseOut, summary="补正: ask for corrected materials; the clock pauses")
async def corrections(body: CorrectionIn, call: Call) -> JSONResponse:
    return await _respond(call, await service.request_correction(call, body.items))


@router.post("/{case_id}/extension", response_model=CaseOut, summary="The one allowed extension, with a reason")
async def extension(body: ExtensionIn, call: Call) -> JSONResponse:
    return await _respond(call, await service.extend(call, body.days, body.reason))


@router.post("/{case_id}/steps/{step}/complete", response_model=CaseOut, summary="Complete a workflow step")
async def complete_step(step: str, body: StepIn, call: Call) -> JSONResponse:
    return await _respond(call, await service.complete_step(call, step, body.reference))


@router.post(
    "/{case_id}/sub-cases/{sub_id}/signoffs", response_model=CaseOut, summary="Record an office's sign-off of the site statement"
)
async def signoff(sub_id: UUID, body: SignoffIn, call: Call) -> JSONResponse:
    return await _respond(call, await service.sign_site_statement(call, sub_id, body.office, body.reference))


@router.post("/{case_id}/sub-cases/{sub_id}/referral", response_model=CaseOut, summary="Refer a permit to the issuing authority")
async def referral(sub_id: UUID, call: Call) -> JSONResponse:
    return await _respond(call, await service.refer_permit(call, sub_id))


@router.post("/{case_id}/sub-cases/{sub_id}/decision", response_model=CaseOut, summary="Record the authority's permit decision")
async def decision(sub_id: UUID, body: DecisionIn, call: Call) -> JSONResponse:
    return await _respond(call, await service.decide_permit(call, sub_id, body.granted, body.reference, body.reason))


@router.post("/{case_id}/assign", response_model=CaseOut, summary="Hand the case, or one step, to another caseworker")
async def assign(body: AssignIn, call: Call) -> JSONResponse:
    return await _respond(call, await service.assign(call, body.owner, body.step))


@router.post("/{case_id}/withdraw", response_model=CaseOut)
async def withdraw(body: WithdrawIn, call: Call) -> JSONResponse:
    return await _respond(call, await service.withdraw(call, body.reason))


@router.get(
    "/{case_id}/timeline", response_model=PageOut[TimelineOut], summary="Who did what, when, with what reference (oldest first)"
)
async def get_timeline(case_id: UUID, principal: CurrentPrincipal, uow: UowDep, page: PageDep) -> PageOut[TimelineOut]:
    return PageOut.of(await service.timeline(uow, principal=principal, case_id=case_id, page=page), TimelineOut)


@router.get("/{case_id}/progress", response_model=ProgressOut, summary="Plain-language progress for the founder (zh-CN / en)")
async def get_progress(case_id: UUID, request: Request, principal: CurrentPrincipal, uow: UowDep) -> ProgressOut:
    case = await service.get_visible(uow, principal, case_id)
    calendar = await service.calendar_for(uow)
    due = case.licence_clock.due(calendar) if case.licence_clock and not case.licence_issued_at else None
    text = describe(case, pick_language(request.headers.get("accept-language")))
    return ProgressOut(**text, licence_due_at=due, account_due_at=case.account_due_at)


figures_router = APIRouter(prefix="/figures", tags=["figures"])


@figures_router.get(
    "", summary="District figures: cases opened, working days to licence and account, share within promise, breaches"
)
async def get_figures(
    principal: CurrentPrincipal,
    uow: UowDep,
    clock: ClockDep,
    start: Annotated[ApiDate, Query(alias="from")],
    end: Annotated[ApiDate, Query(alias="to")],
    district: DistrictQuery = None,
) -> dict:
    return await queries.figures(uow, principal=principal, district=district, start=start, end=end, now=clock.now())
