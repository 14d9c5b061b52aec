"""Use cases on ledger accounts. They never commit: the caller's unit of work does."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from compute_ledger.adapters.tables import firm_accounts as table
from compute_ledger.domain.firm_accounts import open_for
from opc_shared.auth import Principal
from opc_shared.contracts import FirmRegisteredV1
from opc_shared.db import UnitOfWork, Work
from opc_shared.errors import NotFound
from opc_shared.pagination import Keyset, Page, PageParams
from opc_shared.scoping import Scope, ensure_readable, readable

RESOURCE = {"en": "ledger account", "zh-CN": "算力台账账户"}
KEYSET = Keyset(table.c.opened_at, table.c.firm_id)
SCOPE = Scope(district=table.c.district, firm=table.c.firm_id)


async def open_for_registered_firm(work: Work, firm: FirmRegisteredV1) -> None:
    await work.session.execute(insert(table).values(**open_for(firm)).on_conflict_do_nothing(index_elements=["firm_id"]))


async def get(uow: UnitOfWork, *, principal: Principal, firm_id: uuid.UUID) -> dict:
    row = (await uow.session.execute(select(table).where(table.c.firm_id == firm_id))).mappings().first()
    if row is None:
        raise NotFound(RESOURCE, firm_id)
    ensure_readable(principal, row["district"], firm=firm_id, resource=RESOURCE, id=firm_id)
    return dict(row)


async def list_for(uow: UnitOfWork, *, principal: Principal, district: str | None, page: PageParams) -> Page:
    query = KEYSET.apply(readable(select(table), principal, SCOPE, district=district), page)
    return KEYSET.page((await uow.session.execute(query)).mappings().all(), page)
