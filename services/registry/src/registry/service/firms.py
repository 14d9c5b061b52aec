"""Firms: created when the licence is issued (see cases); read and status-tracked here."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select

from opc_shared.auth import Principal
from opc_shared.clock import SHANGHAI, Clock
from opc_shared.concurrency import check_version
from opc_shared.db import UnitOfWork
from opc_shared.errors import Forbidden
from opc_shared.pagination import Keyset, Page, PageParams
from opc_shared.scoping import Scope, read_one, readable
from registry.adapters.repository import FirmRepository
from registry.adapters.tables import cases, firms
from registry.domain.messages import names, say
from registry.service.districts import check_district_filter

KEYSET = Keyset(firms.c.created_at, firms.c.id)
#: Staff read their district's firms; a founder reads the firm named in their token and the one
#: their own case created (even before their token carries firm_id).
SCOPE = Scope(
    district=firms.c.district,
    firm=firms.c.id,
    owned_by=lambda principal: firms.c.case_id.in_(select(cases.c.id).where(cases.c.founder_sub == principal.sub)),
)
FIRM = {"en": "firm", "zh-CN": "企业"}


_ONE = select(firms)


async def get_firm(uow: UnitOfWork, *, principal: Principal, firm_id: uuid.UUID, for_update: bool = False) -> dict:
    return await read_one(uow.session, _ONE, principal, SCOPE, key=firms.c.id, id=firm_id, resource=FIRM, for_update=for_update)


async def list_firms(uow: UnitOfWork, *, principal: Principal, district: str | None, page: PageParams) -> Page:
    query = readable(select(firms), principal, SCOPE, district=district)
    await check_district_filter(uow, district)
    return await KEYSET.fetch(uow.session, query, page)


async def change_status(
    uow: UnitOfWork,
    *,
    principal: Principal,
    clock: Clock,
    firm_id: uuid.UUID,
    version: int,
    status: str,
    effective_date: date,
    reason: str | None,
) -> dict:
    if not principal.has_any("caseworker", "admin"):
        raise Forbidden(say("needs_roles", roles=names("role", ("caseworker", "admin"))))
    row = await get_firm(uow, principal=principal, firm_id=firm_id, for_update=True)
    register = FirmRepository(uow)
    firm = register.status_of(row)
    check_version(firm.version, version)
    firm.change(status, effective_date, reason, today=clock.now().astimezone(SHANGHAI).date(), actor=principal.sub)
    await register.save_status(firm)
    return {**row, "status": firm.status, "status_since": firm.since, "version": firm.version}


async def status_history(uow: UnitOfWork, *, principal: Principal, firm_id: uuid.UUID, page: PageParams) -> Page[dict]:
    await get_firm(uow, principal=principal, firm_id=firm_id)
    return await FirmRepository(uow).status_history(firm_id, page)
