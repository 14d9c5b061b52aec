"""Communities, workstations, the business-line catalogue and the working-day calendar."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from opc_shared.auth import CITY_WIDE, Principal
from opc_shared.clock import SHANGHAI
from opc_shared.contracts.registry import CalendarYearLoadedV1, CommunityRegisteredV1
from opc_shared.db import UnitOfWork, dicts
from opc_shared.errors import DomainError, Forbidden, InvalidInput, NotFound
from opc_shared.pagination import Keyset, Page, PageParams
from opc_shared.scoping import in_district
from registry.adapters import tables as t
from registry.adapters.repository import CaseRepository
from registry.domain.calendar import CalendarNotLoaded, DayKind, entry_problems, seed_entries
from registry.domain.districts import InvalidDivision
from registry.domain.identifiers import InvalidIdentifier, validate_uscc
from registry.domain.messages import say
from registry.service import districts
from registry.service.cases import STAFF

NOT_FOUND = {"en": "community", "zh-CN": "社区"}


def require_admin(principal: Principal, district: str | None = None) -> None:
    """District administration: communities, workstations, assignment."""
    if "admin" not in principal.roles:
        raise Forbidden(say("admins_only"))
    if district is not None and not principal.may_see_district(district):
        raise Forbidden(say("district_not_yours", district=district))


def require_city_admin(principal: Principal) -> None:
    """City-wide administration: the business-line catalogue, the district catalogue and the
    working-day calendar serve every district, so no single district may rewrite them."""
    if "admin" not in principal.roles or principal.district != CITY_WIDE:
        raise Forbidden(say("city_admins_only"))


#: Calendar years an administrator may load: last year (late corrections) to two years ahead.
PLAUSIBLE_YEARS_BACK, PLAUSIBLE_YEARS_AHEAD = 1, 2


def check_calendar_year(year: int, today: date) -> None:
    low, high = today.year - PLAUSIBLE_YEARS_BACK, today.year + PLAUSIBLE_YEARS_AHEAD
    if not low <= year <= high:
        raise InvalidInput([("year", "implausible_year", say("implausible_year", low=low, high=high))])


async def create_community(uow: UnitOfWork, principal: Principal, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    require_admin(principal, data["district"])
    where = await districts.district(uow, data["district"])
    errors = []
    try:
        data["division_code"] = where.division_for(data.get("division_code"))
    except InvalidDivision as exc:
        errors.append(("division_code", "invalid_division", exc.text))
    if data.get("operator_uscc"):
        try:
            data["operator_uscc"] = validate_uscc(data["operator_uscc"])
        except InvalidIdentifier as exc:
            errors.append(("operator_uscc", "invalid_uscc", exc.text))
    if errors:
        raise InvalidInput(errors)
    row = {"id": uuid.uuid4(), "created_at": now, **data}
    try:
        async with uow.session.begin_nested():
            await uow.session.execute(insert(t.communities).values(**row))
    except IntegrityError:
        raise DomainError("duplicate", {"what": {"en": f"community {data['name']}", "zh-CN": f"社区“{data['name']}”"}}) from None
    uow.publish(
        CommunityRegisteredV1(
            community_id=row["id"],
            name=row["name"],
            district=where.code,
            city=where.city,
            division_code=row["division_code"],
            kind=row["kind"],
            land_use=row["land_use"],
            operator_name=row.get("operator_name"),
            operator_uscc=row.get("operator_uscc"),
            registered_at=now,
        )
    )
    return row


COMMUNITIES = Keyset(t.communities.c.name, t.communities.c.id, sort_type=str, ascending=True)
WORKSTATIONS = Keyset(t.workstations.c.code, t.workstations.c.id, sort_type=str, ascending=True)
LINES = Keyset(t.business_lines.c.code, t.business_lines.c.code, id_type=str, sort_type=str, ascending=True)


async def list_communities(uow: UnitOfWork, principal: Principal, district: str | None, page: PageParams) -> Page[dict[str, Any]]:
    """Everyone of a district may list its communities (founders pick one in the form); asking
    for another district's list is refused, as it is for every other list."""
    query = in_district(select(t.communities), principal, t.communities.c.district, district=district)
    await districts.check_district_filter(uow, district)
    query = COMMUNITIES.apply(query, page)
    return COMMUNITIES.page(dicts(await uow.session.execute(query)), page)


async def _community(uow: UnitOfWork, principal: Principal, community_id: uuid.UUID) -> dict[str, Any]:
    row = (await uow.session.execute(select(t.communities).where(t.communities.c.id == community_id))).mappings().first()
    if row is None or not principal.may_see_district(row["district"]):
        raise NotFound(NOT_FOUND, community_id)
    return dict(row)


async def add_workstations(
    uow: UnitOfWork, principal: Principal, community_id: uuid.UUID, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    community = await _community(uow, principal, community_id)
    require_admin(principal, community["district"])
    seen: dict[str, int] = {}
    repeated = []
    for i, item in enumerate(items):
        if item["code"] in seen:
            repeated.append((f"{i}.code", "duplicate", say("duplicate_in_batch", code=item["code"], other=seen[item["code"]])))
        seen.setdefault(item["code"], i)
    if repeated:
        raise InvalidInput(repeated)
    rows = [{"id": uuid.uuid4(), "community_id": community_id, **item} for item in items]
    try:
        async with uow.session.begin_nested():
            await uow.session.execute(insert(t.workstations), rows)
    except IntegrityError:
        raise DomainError("duplicate", {"what": {"en": "a workstation with that code", "zh-CN": "同编号的工位"}}) from None
    return rows


async def list_workstations(
    uow: UnitOfWork, principal: Principal, community_id: uuid.UUID, page: PageParams
) -> Page[dict[str, Any]]:
    await _community(uow, principal, community_id)
    occ = t.occupancies
    query = (
        select(t.workstations, occ.c.case_id.label("occupant_case_id"), occ.c.firm_id.label("occupant_firm_id"))
        .outerjoin(occ, (occ.c.workstation_id == t.workstations.c.id) & occ.c.ended_at.is_(None))
        .where(t.workstations.c.community_id == community_id)
    )
    query = WORKSTATIONS.apply(query, page)
    return WORKSTATIONS.page(dicts(await uow.session.execute(query)), page)


async def list_lines(uow: UnitOfWork, page: PageParams) -> Page[dict[str, Any]]:
    query = LINES.apply(select(t.business_lines), page)
    return LINES.page(dicts(await uow.session.execute(query)), page)


async def upsert_line(uow: UnitOfWork, principal: Principal, code: str, data: dict[str, Any]) -> dict[str, Any]:
    require_city_admin(principal)
    stmt = pg_insert(t.business_lines).values(code=code, **data)
    await uow.session.execute(stmt.on_conflict_do_update(index_elements=["code"], set_={k: stmt.excluded[k] for k in data}))
    return {"code": code, **data}


async def get_calendar_year(uow: UnitOfWork, year: int) -> dict[str, Any]:
    meta = (await uow.session.execute(select(t.calendar_years).where(t.calendar_years.c.year == year))).mappings().first()
    if meta is None:
        raise NotFound({"en": "calendar year", "zh-CN": "工作日历年度"}, year)
    days = (
        await uow.session.execute(
            select(t.calendar_days)
            .where(t.calendar_days.c.day >= date(year, 1, 1), t.calendar_days.c.day <= date(year, 12, 31))
            .order_by(t.calendar_days.c.day)
        )
    ).mappings()
    return {**dict(meta), "days": [dict(d) for d in days]}


async def put_calendar_year(
    uow: UnitOfWork, principal: Principal, year: int, days: list[dict[str, Any]], source: str, now: datetime
) -> None:
    require_city_admin(principal)
    check_calendar_year(year, now.astimezone(SHANGHAI).date())
    errors = entry_problems(year, [(d["day"], d["kind"]) for d in days])
    if errors:
        raise InvalidInput(errors)
    entries = {d["day"]: (DayKind(d["kind"]), d.get("name")) for d in days}
    await _load_year(uow, year, entries, source, now)


async def seed_calendar_year(uow: UnitOfWork, principal: Principal, year: int, now: datetime) -> None:
    require_city_admin(principal)
    check_calendar_year(year, now.astimezone(SHANGHAI).date())
    try:
        entries = seed_entries(year)
    except CalendarNotLoaded as exc:
        raise DomainError("calendar_not_loaded", {"year": exc.year}) from None
    await _load_year(uow, year, {d: (e.kind, e.name) for d, e in entries.items()}, "chinese-calendar package", now)


async def _load_year(
    uow: UnitOfWork, year: int, entries: dict[date, tuple[DayKind, str | None]], source: str, now: datetime
) -> None:
    """Store the year, move running deadlines, and tell the other services (their SLAs count on it too)."""
    await CaseRepository(uow).replace_calendar_year(year, entries, source, now)
    uow.publish(
        CalendarYearLoadedV1(
            year=year,
            holidays=sorted(d for d, (kind, _) in entries.items() if kind is DayKind.holiday),
            adjusted_working_days=sorted(d for d, (kind, _) in entries.items() if kind is DayKind.workday),
            loaded_at=now,
            source=source,
        )
    )


__all__ = ["STAFF"]
