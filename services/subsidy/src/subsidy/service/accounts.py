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


#: What ``firm.registered`` tells about a firm beyond the row it opens; a repeated event refreshes them.
REGISTRATION_FACTS = ("uscc", "community_id", "founder_is_graduate", "graduation_date")


# Built once: SQLAlchemy then compiles it once, not per event.
def _open_statement():
    upsert = insert(table)
    return upsert.on_conflict_do_update(
        index_elements=[table.c.firm_id], set_={name: upsert.excluded[name] for name in REGISTRATION_FACTS}
    ).returning(*table.c)


_OPEN = _open_statement()


async def open_for_registered_firm(work: Work, firm: FirmRegisteredV1) -> dict:
    """Open the firm's account (an existing one keeps its status, name and district) and store the
    registration facts, in one statement; returns the account row as it now stands."""
    return (await open_for_registered_firms(work, [firm]))[0]


async def open_for_registered_firms(work: Work, firms: list[FirmRegisteredV1]) -> list[dict]:
    """``open_for_registered_firm`` for several firms in one statement (one row each, one round trip);
    the account rows in the order of ``firms``. Each firm appears once: the caller splits repeats."""
    if len({firm.firm_id for firm in firms}) != len(firms):
        raise ValueError("a firm appears twice: one statement cannot upsert its row twice")
    rows = []
    for firm in firms:
        row = open_for(firm)
        row.update((name, getattr(firm, name)) for name in REGISTRATION_FACTS)
        rows.append(row)
    by_firm = {row["firm_id"]: dict(row) for row in (await work.session.execute(_OPEN, rows)).mappings()}
    return [by_firm[firm.firm_id] for firm in firms]


_ONE = select(table)


async def get(uow: UnitOfWork, *, principal: Principal, firm_id: uuid.UUID) -> dict:
    return await read_one(uow.session, _ONE, principal, SCOPE, key=table.c.firm_id, id=firm_id, resource=RESOURCE)


async def list_for(uow: UnitOfWork, *, principal: Principal, district: str | None, page: PageParams) -> Page:
    return await KEYSET.fetch(uow.session, readable(select(table), principal, SCOPE, district=district), page)
