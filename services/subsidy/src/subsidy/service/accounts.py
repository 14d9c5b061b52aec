"""Use cases on subsidy accounts. They never commit: the caller's unit of work does."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from opc_shared.auth import Principal
from opc_shared.contracts import FirmRegisteredV1
from opc_shared.db import UnitOfWork, Work
from opc_shared.pagination import Keyset, Page, PageParams
from opc_shared.scoping import Scope, read_one, readable
from subsidy.adapters.tables import accounts as table
from subsidy.domain.accounts import open_for

RESOURCE = {"en": "subsidy account", "zh-CN": "补贴账户"}
KEYSET = Keyset(table.c.opened_at, table.c.firm_id)
SCOPE = Scope(district=table.c.district, firm=table.c.firm_id)


async def open_for_registered_firm(work: Work, firm: FirmRegisteredV1) -> None:
    await work.session.execute(insert(table).values(**open_for(firm)).on_conflict_do_nothing(index_elements=["firm_id"]))


async def get(uow: UnitOfWork, *, principal: Principal, firm_id: uuid.UUID) -> dict:
    query = select(table).where(table.c.firm_id == firm_id)
    return await read_one(uow.session, query, principal, SCOPE, resource=RESOURCE, id=firm_id)


async def list_for(uow: UnitOfWork, *, principal: Principal, district: str | None, page: PageParams) -> Page:
    return await KEYSET.fetch(uow.session, readable(select(table), principal, SCOPE, district=district), page)
