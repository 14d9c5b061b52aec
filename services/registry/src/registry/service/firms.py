"""Firms: created when the licence is issued (see cases); read and status-tracked here."""

from __future__ import annotations

import contextlib
import uuid
from datetime import date

from sqlalchemy import ColumnElement, false, insert, or_, select, true, tuple_, update

from opc_shared.auth import Principal
from opc_shared.clock import SHANGHAI, Clock
from opc_shared.concurrency import check_version
from opc_shared.contracts.registry import FirmStatusChangedV1
from opc_shared.db import UnitOfWork
from opc_shared.pagination import Page, decode_cursor, encode_cursor
from opc_shared.problems import Problem
from registry.adapters.tables import cases, firm_status_history, firms
from registry.domain.errors import DomainError
from registry.domain.firm import check_status_change
from registry.service.districts import check_district_filter
from registry.service.problems import to_problem

STAFF = ("caseworker", "reviewer", "finance", "admin")


def readable(principal: Principal) -> ColumnElement[bool]:
    """The firms a principal may read, as one SQL condition used by single reads and lists alike.

    Staff read their district's firms (city-wide staff every district). A founder reads the firm
    their own case created, even before their token carries ``firm_id``, and the firm named by
    ``firm_id``. Nobody else reads any firm."""
    conditions: list[ColumnElement[bool]] = []
    if principal.has_any(*STAFF):
        conditions.append(true() if principal.district == "*" else firms.c.district == principal.district)
    if "firm" in principal.roles:
        conditions.append(firms.c.case_id.in_(select(cases.c.id).where(cases.c.founder_sub == principal.sub)))
        if principal.firm_id:
            with contextlib.suppress(ValueError):  # a malformed claim grants nothing
                conditions.append(firms.c.id == uuid.UUID(principal.firm_id))
    return or_(*conditions) if conditions else false()


async def get_firm(uow: UnitOfWork, *, principal: Principal, firm_id: uuid.UUID, for_update: bool = False) -> dict:
    query = select(firms).where(firms.c.id == firm_id, readable(principal))
    if for_update:
        query = query.with_for_update()
    row = (await uow.session.execute(query)).mappings().first()
    if row is None:
        raise Problem("not_found", 404, params={"resource": {"en": "firm", "zh-CN": "企业"}, "id": str(firm_id)})
    return dict(row)


async def list_firms(uow: UnitOfWork, *, principal: Principal, district: str | None, cursor: str | None, limit: int) -> Page:
    if not principal.has_any(*STAFF, "firm"):
        raise Problem("forbidden", 403, params={"reason": "firm records are for street-office staff and the firms themselves"})
    if district and principal.has_any(*STAFF) and not principal.may_see_district(district):
        raise Problem("forbidden", 403, params={"reason": f"district {district} is not yours"})
    await check_district_filter(uow, district)
    query = select(firms).where(readable(principal)).order_by(firms.c.created_at.desc(), firms.c.id.desc()).limit(limit + 1)
    if district:
        query = query.where(firms.c.district == district)
    if cursor:
        created_at, last_id = decode_cursor(cursor)
        query = query.where(tuple_(firms.c.created_at, firms.c.id) < tuple_(created_at, uuid.UUID(last_id)))
    rows = [dict(r) for r in (await uow.session.execute(query)).mappings().all()]
    next_cursor = encode_cursor(rows[limit - 1]["created_at"], rows[limit - 1]["id"]) if len(rows) > limit else None
    return Page(items=rows[:limit], next_cursor=next_cursor)


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
        raise Problem("forbidden", 403, params={"reason": "needs one of roles caseworker, admin"})
    firm = await get_firm(uow, principal=principal, firm_id=firm_id, for_update=True)
    check_version(firm["version"], version)
    try:
        check_status_change(firm["status"], firm["status_since"], status, effective_date, clock.now().astimezone(SHANGHAI).date())
    except DomainError as exc:
        raise to_problem(exc) from None
    await uow.session.execute(
        update(firms).where(firms.c.id == firm_id).values(status=status, status_since=effective_date, version=firms.c.version + 1)
    )
    await uow.session.execute(
        insert(firm_status_history).values(
            firm_id=firm_id, status=status, effective_date=effective_date, reason=reason, recorded_by=principal.sub
        )
    )
    uow.publish(
        FirmStatusChangedV1(
            firm_id=firm_id,
            district=firm["district"],
            status=status,
            previous_status=firm["status"],
            effective_date=effective_date,
            reason=reason,
        )
    )
    return {**firm, "status": status, "status_since": effective_date, "version": firm["version"] + 1}


async def status_history(uow: UnitOfWork, *, principal: Principal, firm_id: uuid.UUID) -> list[dict]:
    await get_firm(uow, principal=principal, firm_id=firm_id)
    rows = await uow.session.execute(
        select(firm_status_history).where(firm_status_history.c.firm_id == firm_id).order_by(firm_status_history.c.id)
    )
    return [dict(r) for r in rows.mappings()]
