"""Use cases on ledger accounts. They never commit: the caller's unit of work does."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert

from compute_ledger.adapters.tables import communities
from compute_ledger.adapters.tables import firm_accounts as table
from compute_ledger.domain.firm_accounts import open_for
from compute_ledger.service import invoices
from opc_shared.auth import Principal
from opc_shared.contracts.registry import CommunityRegisteredV1, FirmRegisteredV1
from opc_shared.db import UnitOfWork, Work
from opc_shared.pagination import Keyset, Page, PageParams
from opc_shared.scoping import Scope, read_one, readable

RESOURCE = {"en": "ledger account", "zh-CN": "算力台账账户"}
KEYSET = Keyset(table.c.opened_at, table.c.firm_id)
SCOPE = Scope(district=table.c.district, firm=table.c.firm_id)


async def open_for_registered_firm(uow: Work, firm: FirmRegisteredV1, *, default_city: str, now: datetime) -> None:
    """Opens the account; records and invoices that named the firm's USCC before it existed are attributed now."""
    city = None
    if firm.community_id is not None:
        city = (
            await uow.session.execute(select(communities.c.city).where(communities.c.community_id == firm.community_id))
        ).scalar_one_or_none()
    row = open_for(firm, city or default_city)
    await uow.session.execute(
        insert(table)
        .values(**row)
        .on_conflict_do_update(
            index_elements=["firm_id"], set_={"uscc": row["uscc"], "community_id": row["community_id"], "city": row["city"]}
        )
    )
    if firm.uscc:
        await attribute_usage(uow, uscc=firm.uscc)
        await invoices.attribute_to_firm(uow, firm.uscc, firm.firm_id, now)


async def attribute_usage(uow: Work | UnitOfWork, *, uscc: str | None = None) -> int:
    """Unattributed records of registered firms get their firm (one USCC, or every one: the sweep
    that also catches a record committed while its firm's registration was being applied)."""
    where = "u.buyer_uscc = :uscc AND " if uscc else ""
    result = await uow.session.execute(
        text(
            "UPDATE ledger.usage u SET firm_id = f.firm_id FROM ledger.firm_accounts f "
            f"WHERE {where}u.firm_id IS NULL AND f.uscc = u.buyer_uscc"
        ),
        {"uscc": uscc} if uscc else {},
    )
    return result.rowcount or 0


async def community_registered(uow: Work, community: CommunityRegisteredV1) -> None:
    values = {
        "name": community.name,
        "district": community.district,
        "city": community.city,
        "operator_uscc": community.operator_uscc,
        "registered_at": community.registered_at,
    }
    await uow.session.execute(
        insert(communities)
        .values(community_id=community.community_id, **values)
        .on_conflict_do_update(index_elements=["community_id"], set_=values)
    )
    await uow.session.execute(update(table).where(table.c.community_id == community.community_id).values(city=community.city))


_ONE = select(table)


async def get(uow: UnitOfWork, *, principal: Principal, firm_id: uuid.UUID) -> dict:
    return await read_one(uow.session, _ONE, principal, SCOPE, key=table.c.firm_id, id=firm_id, resource=RESOURCE)


async def list_for(uow: UnitOfWork, *, principal: Principal, district: str | None, page: PageParams) -> Page:
    return await KEYSET.fetch(uow.session, readable(select(table), principal, SCOPE, district=district), page)
