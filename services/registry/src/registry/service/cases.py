"""Use cases of the registration workflow. They never commit: the caller's unit of work does."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select

from opc_shared.auth import Principal
from opc_shared.clock import SHANGHAI, Clock
from opc_shared.concurrency import check_version
from opc_shared.db import UnitOfWork
from opc_shared.errors import DomainError, Forbidden, InvalidInput, NotFound
from opc_shared.pagination import Page, PageParams
from opc_shared.scoping import may_read
from registry.adapters import tables as t
from registry.adapters.repository import CaseRepository, FirmRepository
from registry.domain.calendar import CalendarNotLoaded, WorkingCalendar
from registry.domain.case import Case, Placement
from registry.domain.form import CaseForm
from registry.domain.identifiers import generate_uscc
from registry.domain.intake import normalised, validate_form
from registry.domain.messages import names, say
from registry.service import districts

STAFF = ("caseworker", "reviewer", "admin")
REVIEWERS = ("reviewer", "admin")


def is_founder_of(principal: Principal, case: Case) -> bool:
    return "firm" in principal.roles and principal.sub == case.founder_sub


def can_view(principal: Principal, case: Case) -> bool:
    return may_read(principal, case.district, firm=case.firm_id, account=case.founder_sub, staff_roles=STAFF)


async def get_visible(uow: UnitOfWork, principal: Principal, case_id: uuid.UUID, *, for_update: bool = False) -> Case:
    case = await CaseRepository(uow).get(case_id, for_update=for_update)
    if case is None or not can_view(principal, case):
        raise NotFound({"en": "case", "zh-CN": "案件"}, case_id)
    return case


async def calendar_for(uow: UnitOfWork) -> WorkingCalendar:
    return await CaseRepository(uow).calendar()


@dataclass(frozen=True)
class CaseCall:
    """Who acts on which case, at which version (If-Match), within which unit of work."""

    uow: UnitOfWork
    principal: Principal
    clock: Clock
    case_id: uuid.UUID
    version: int

    @property
    def actor(self) -> str:
        return self.principal.sub


Action = Callable[[Case, datetime, WorkingCalendar], Any]
CASEWORKERS = ("caseworker", "admin")


async def create_draft(
    uow: UnitOfWork, *, principal: Principal, clock: Clock, form: dict[str, Any], founder_sub: str | None
) -> Case:
    """``form``: the fields the founder filled in, as the API received them."""
    if not principal.has_any("firm", "caseworker", "admin"):
        raise Forbidden(say("opens_cases"))
    if principal.district == "*":
        raise Forbidden(say("one_district_account"))
    await districts.principal_district(uow, principal)
    now = clock.now()
    owner = principal.sub if "firm" in principal.roles else (founder_sub or principal.sub)
    case = Case.draft(district=principal.district, founder_sub=owner, created_by=principal.sub, form=_checked(form, now), now=now)
    await CaseRepository(uow).add(case, now)
    return case


async def mutate(call: CaseCall, roles: tuple[str, ...], action: Action, *, founder_allowed: bool = False) -> Case:
    """Load the case locked, check who and which version, apply ``action``, save, queue its events."""
    uow, principal = call.uow, call.principal
    case = await get_visible(uow, principal, call.case_id, for_update=True)
    if not (principal.has_any(*roles) and principal.may_see_district(case.district)) and not (
        founder_allowed and is_founder_of(principal, case)
    ):
        raise Forbidden(say("needs_roles", roles=names("role", roles)))
    check_version(case.version, call.version)
    now = call.clock.now()
    cases = CaseRepository(uow)
    calendar = await cases.calendar()
    try:
        result = action(case, now, calendar)
        if hasattr(result, "__await__"):
            await result
        await cases.save(case, calendar, now)
    except CalendarNotLoaded as exc:
        raise DomainError("calendar_not_loaded", {"year": exc.year}) from None
    return case


def _checked(data: dict[str, Any], now: datetime) -> CaseForm:
    form = normalised(CaseForm.from_json(data))
    issues = validate_form(form, now.astimezone(SHANGHAI).date())
    if issues:
        raise InvalidInput(issues)
    return form


async def update_draft(call: CaseCall, data: dict[str, Any]) -> Case:
    """``data``: only the fields the edit sent."""
    patch = _checked(data, call.clock.now())
    return await mutate(
        call, STAFF, lambda case, now, _: case.update_form(patch, now=now, actor=call.actor), founder_allowed=True
    )


async def submit(call: CaseCall) -> Case:
    uow = call.uow

    cases = CaseRepository(uow)

    async def action(case: Case, now: datetime, calendar: WorkingCalendar) -> None:
        placement = await cases.placement(case)
        lines = await _active_lines(uow, case.district, list(case.form.business_lines or ()))
        if placement is None:
            if case.form.workstation_id:
                raise DomainError(
                    "case_incomplete",
                    {"count": 1},
                    [("workstation_id", "not_found", say("workstation_not_found"))],
                )
            placement = Placement("", case.district, "office", None, "", True, False)  # submit reports the missing fields
        case.submit(now=now, actor=call.actor, lines=lines, placement=placement, calendar=calendar)
        if not await cases.occupy(case, now):
            raise DomainError("workstation_occupied")

    return await mutate(call, STAFF, action, founder_allowed=True)


async def _active_lines(uow: UnitOfWork, district: str, codes: list[str]) -> dict[str, Any]:
    """The chosen lines as the catalogue has them, with the sandbox pilot as the case's city runs it."""
    where = await districts.district(uow, district, field="token.district")
    pilot = set((await districts.city(uow, where.city)).sandbox_lines)
    rows = (
        await uow.session.execute(select(t.business_lines).where(t.business_lines.c.code.in_(codes), t.business_lines.c.active))
    ).all()
    return {
        row.code: SimpleNamespace(
            code=row.code, name_zh=row.name_zh, name_en=row.name_en, permits=list(row.permits), sandbox=row.code in pilot
        )
        for row in rows
    }


async def supply_material(call: CaseCall, code: str, document_ref: str, checksum: str) -> Case:
    def action(case: Case, now: datetime, _: WorkingCalendar) -> None:
        case.supply_material(code, document_ref=document_ref, checksum=checksum, now=now, actor=call.actor)

    return await mutate(call, STAFF, action, founder_allowed=True)


async def accept(call: CaseCall) -> Case:
    return await mutate(call, CASEWORKERS, lambda case, now, calendar: case.accept(now=now, actor=call.actor, calendar=calendar))


async def request_correction(call: CaseCall, items: dict[str, str]) -> Case:
    return await mutate(call, STAFF, lambda case, now, _: case.request_correction(items, now=now, actor=call.actor))


async def extend(call: CaseCall, days: int, reason: str) -> Case:
    return await mutate(call, REVIEWERS, lambda case, now, _: case.extend(days, reason, now=now, actor=call.actor))


async def complete_step(call: CaseCall, step: str, reference: str | None) -> Case:
    uow = call.uow

    cases = CaseRepository(uow)

    async def action(case: Case, now: datetime, calendar: WorkingCalendar) -> None:
        firm = None
        if step == "business_licence" and case.steps.get(step) and case.licence_issued_at is None:
            firm = (case.firm_id, generate_uscc(await _division_of(uow, case), await cases.next_uscc_serial()))
        case.complete_step(step, reference=reference, now=now, actor=call.actor, calendar=calendar, firm=firm)
        if step == "business_licence" and case.licence_issued_at is not None and firm is not None:
            await FirmRepository(uow).add_licensed(case, uscc=firm[1], now=now, actor=call.actor)

    return await mutate(call, CASEWORKERS, action)


async def _division_of(uow: UnitOfWork, case: Case) -> str:
    """Positions 3–8 of the USCC: the division the firm's building lies in (its community's)."""
    if case.form.community_id:
        code = await CaseRepository(uow).community_division(case.form.community_id)
        if code:
            return code
    where = await districts.find_district(uow, case.district)
    if where is None or where.division_code is None:
        raise DomainError("unknown_district", {"district": case.district})
    return where.division_code


async def sign_site_statement(call: CaseCall, sub_id: uuid.UUID, office: str, reference: str | None) -> Case:
    def action(case: Case, now: datetime, _: WorkingCalendar) -> None:
        case.sign_site_statement(sub_id, office, now=now, actor=call.actor, reference=reference)

    return await mutate(call, STAFF, action)


async def refer_permit(call: CaseCall, sub_id: uuid.UUID) -> Case:
    return await mutate(
        call, CASEWORKERS, lambda case, now, calendar: case.refer_permit(sub_id, now=now, actor=call.actor, calendar=calendar)
    )


async def decide_permit(call: CaseCall, sub_id: uuid.UUID, granted: bool, reference: str | None, reason: str | None) -> Case:
    def action(case: Case, now: datetime, _: WorkingCalendar) -> None:
        case.decide_permit(sub_id, granted=granted, reference=reference, reason=reason, now=now, actor=call.actor)

    return await mutate(call, REVIEWERS, action)


async def assign(call: CaseCall, owner: str, step: str | None) -> Case:
    return await mutate(call, CASEWORKERS, lambda case, now, _: case.assign(owner, step=step, now=now, actor=call.actor))


async def withdraw(call: CaseCall, reason: str) -> Case:
    async def action(case: Case, now: datetime, _: WorkingCalendar) -> None:
        case.withdraw(reason, now=now, actor=call.actor)
        await CaseRepository(call.uow).release(case, now)

    return await mutate(call, STAFF, action, founder_allowed=True)


async def timeline(uow: UnitOfWork, *, principal: Principal, case_id: uuid.UUID, page: PageParams) -> Page[dict[str, Any]]:
    """Oldest first: a case's history reads from the top."""
    await get_visible(uow, principal, case_id)
    return await CaseRepository(uow).timeline(case_id, page)
