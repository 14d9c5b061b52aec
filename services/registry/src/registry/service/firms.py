"""Use cases on firms. They never commit: the caller's unit of work does."""

from __future__ import annotations

import uuid

from sqlalchemy import insert, select, tuple_

from opc_shared.auth import Principal
from opc_shared.clock import Clock
from opc_shared.db import UnitOfWork
from opc_shared.pagination import Page, decode_cursor, encode_cursor
from opc_shared.problems import Problem
from registry.adapters.tables import firms
from registry.domain.firm import Firm


async def register_firm(
    uow: UnitOfWork, *, principal: Principal, clock: Clock, name: str, district: str, community: str | None, founder_name: str
) -> dict:
    if not principal.may_see_district(district):
        raise Problem("forbidden", 403, params={"reason": f"district {district} is not yours"})
    firm = Firm.register(name=name, district=district, community=community, founder_name=founder_name, now=clock.now())
    row = {
        "id": firm.id,
        "name": firm.name,
        "district": firm.district,
        "community": firm.community,
        "founder_name": firm.founder_name,
        "registered_at": firm.registered_at,
        "created_by": principal.sub,
    }
    await uow.session.execute(insert(firms).values(**row))
    for event in firm.events:
        uow.publish(event)
    return {**row, "version": 1}


async def get_firm(uow: UnitOfWork, *, principal: Principal, firm_id: uuid.UUID) -> dict:
    row = (await uow.session.execute(select(firms).where(firms.c.id == firm_id))).mappings().first()
    if row is None or not principal.may_see_firm(firm_id, row["district"]):
        raise Problem("not_found", 404, params={"resource": {"en": "firm", "zh-CN": "企业"}, "id": str(firm_id)})
    return dict(row)


async def list_firms(uow: UnitOfWork, *, principal: Principal, district: str | None, cursor: str | None, limit: int) -> Page:
    query = select(firms).order_by(firms.c.created_at.desc(), firms.c.id.desc()).limit(limit + 1)
    if principal.firm_id and not principal.has_any("caseworker", "reviewer", "finance", "admin"):
        query = query.where(firms.c.id == uuid.UUID(principal.firm_id))
    elif principal.district != "*":
        if district and district != principal.district:
            raise Problem("forbidden", 403, params={"reason": f"district {district} is not yours"})
        query = query.where(firms.c.district == principal.district)
    elif district:
        query = query.where(firms.c.district == district)
    if cursor:
        created_at, last_id = decode_cursor(cursor)
        query = query.where(tuple_(firms.c.created_at, firms.c.id) < tuple_(created_at, uuid.UUID(last_id)))
    rows = [dict(r) for r in (await uow.session.execute(query)).mappings().all()]
    next_cursor = encode_cursor(rows[limit - 1]["created_at"], rows[limit - 1]["id"]) if len(rows) > limit else None
    return Page(items=rows[:limit], next_cursor=next_cursor)
