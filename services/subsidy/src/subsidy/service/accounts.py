"""Use cases on subsidy accounts. They never commit: the caller's unit of work does."""

from __future__ import annotations

import uuid

from sqlalchemy import select, tuple_
from sqlalchemy.dialects.postgresql import insert

from opc_shared.auth import Principal
from opc_shared.contracts import FirmRegisteredV1
from opc_shared.db import UnitOfWork, Work
from opc_shared.pagination import Page, decode_cursor, encode_cursor
from opc_shared.problems import Problem
from subsidy.adapters.tables import accounts as table
from subsidy.domain.accounts import open_for


async def open_for_registered_firm(work: Work, firm: FirmRegisteredV1) -> None:
    await work.session.execute(insert(table).values(**open_for(firm)).on_conflict_do_nothing(index_elements=["firm_id"]))


async def get(uow: UnitOfWork, *, principal: Principal, firm_id: uuid.UUID) -> dict:
    row = (await uow.session.execute(select(table).where(table.c.firm_id == firm_id))).mappings().first()
    if row is None or not principal.may_see_firm(firm_id, row["district"]):
        raise Problem("not_found", 404, params={"resource": {"en": "subsidy account", "zh-CN": "补贴账户"}, "id": str(firm_id)})
    return dict(row)


async def list_for(uow: UnitOfWork, *, principal: Principal, district: str | None, cursor: str | None, limit: int) -> Page:
    query = select(table).order_by(table.c.opened_at.desc(), table.c.firm_id.desc()).limit(limit + 1)
    if principal.district != "*":
        if district and district != principal.district:
            raise Problem("forbidden", 403, params={"reason": f"district {district} is not yours"})
        query = query.where(table.c.district == principal.district)
    elif district:
        query = query.where(table.c.district == district)
    if cursor:
        opened_at, last_id = decode_cursor(cursor)
        query = query.where(tuple_(table.c.opened_at, table.c.firm_id) < tuple_(opened_at, uuid.UUID(last_id)))
    rows = [dict(r) for r in (await uow.session.execute(query)).mappings().all()]
    next_cursor = encode_cursor(rows[limit - 1]["opened_at"], rows[limit - 1]["firm_id"]) if len(rows) > limit else None
    return Page(items=rows[:limit], next_cursor=next_cursor)
