"""The district catalogue: which districts and cities the registry serves, and their division codes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from opc_shared.auth import Principal
from opc_shared.db import UnitOfWork, dicts
from opc_shared.errors import DomainError, InvalidInput
from opc_shared.pagination import Keyset, Page, PageParams
from registry.adapters import tables as t
from registry.domain.districts import DIVISION, City, District
from registry.domain.messages import say


def unknown_district(code: str, field: str = "district") -> DomainError:
    return DomainError(
        "unknown_district",
        {"district": code},
        [(field, "unknown_district", say("unknown_district", code=code))],
    )


def _district(row: Any) -> District:
    return District(row.code, row.name_zh, row.name_en, row.city, row.division_code, tuple(row.member_divisions))


async def find_district(uow: UnitOfWork, code: str) -> District | None:
    row = (await uow.session.execute(select(t.districts).where(t.districts.c.code == code))).first()
    return _district(row) if row else None


async def district(uow: UnitOfWork, code: str, *, field: str = "district") -> District:
    """The catalogue entry, or a 422 naming the field that carried the unknown code."""
    found = await find_district(uow, code)
    if found is None:
        raise unknown_district(code, field)
    return found


async def principal_district(uow: UnitOfWork, principal: Principal) -> District:
    """The district a district-bound account acts for; a token naming an unknown district is refused."""
    return await district(uow, principal.district, field="token.district")


async def check_district_filter(uow: UnitOfWork, code: str | None) -> None:
    """A ``?district=`` filter must name a catalogue district (an unknown one is a typo, not an empty list)."""
    if code is not None:
        await district(uow, code)


async def city(uow: UnitOfWork, code: str) -> City:
    row = (await uow.session.execute(select(t.cities).where(t.cities.c.code == code))).first()
    if row is None:
        raise InvalidInput([("city", "unknown_city", say("unknown_city", code=code))])
    return City(row.code, row.name_zh, row.name_en, row.division_code, tuple(row.sandbox_lines))


DISTRICTS = Keyset(t.districts.c.code, t.districts.c.code, id_type=str, sort_type=str, ascending=True)
CITIES = Keyset(t.cities.c.code, t.cities.c.code, id_type=str, sort_type=str, ascending=True)


def _districts_query(city_code: str | None, code: str | None = None):
    d, c = t.districts, t.cities
    query = select(d, c.c.name_zh.label("city_name_zh"), c.c.name_en.label("city_name_en")).join(c, c.c.code == d.c.city)
    if city_code:
        query = query.where(d.c.city == city_code)
    if code:
        query = query.where(d.c.code == code)
    return query


async def list_districts(uow: UnitOfWork, city_code: str | None, code: str | None = None) -> list[dict[str, Any]]:
    query = _districts_query(city_code, code).order_by(t.districts.c.city, t.districts.c.code)
    return dicts(await uow.session.execute(query))


async def page_districts(uow: UnitOfWork, city_code: str | None, page: PageParams) -> Page[dict[str, Any]]:
    """A page of the catalogue; a GET may get one read within the last second (see opc_shared.readcache)."""

    async def load() -> Page[dict[str, Any]]:
        query = DISTRICTS.apply(_districts_query(city_code), page)
        return DISTRICTS.page(dicts(await uow.session.execute(query)), page)

    return await uow.db.read_cache.get(uow, ("districts", city_code, page.cursor, page.limit), load)


async def page_cities(uow: UnitOfWork, page: PageParams) -> Page[dict[str, Any]]:
    async def load() -> Page[dict[str, Any]]:
        query = CITIES.apply(select(t.cities), page)
        return CITIES.page(dicts(await uow.session.execute(query)), page)

    return await uow.db.read_cache.get(uow, ("cities", page.cursor, page.limit), load)


async def put_district(uow: UnitOfWork, code: str, data: dict[str, Any]) -> dict[str, Any]:
    await city(uow, data["city"])
    errors = []
    if data.get("division_code") is not None and not DIVISION.match(data["division_code"]):
        errors.append(("division_code", "invalid_division", say("division_digits")))
    if data.get("division_code") is None and not data.get("member_divisions"):
        errors.append(("member_divisions", "missing", say("zone_needs_members")))
    for i, member in enumerate(data.get("member_divisions") or []):
        if not DIVISION.match(member):
            errors.append((f"member_divisions.{i}", "invalid_division", say("division_digits")))
    if errors:
        raise InvalidInput(errors)
    stmt = pg_insert(t.districts).values(code=code, **data)
    await uow.session.execute(stmt.on_conflict_do_update(index_elements=["code"], set_={k: stmt.excluded[k] for k in data}))
    uow.db.read_cache.clear()
    return (await list_districts(uow, None, code))[0]


async def put_city(uow: UnitOfWork, code: str, data: dict[str, Any]) -> dict[str, Any]:
    lines = data.get("sandbox_lines") or []
    known = set((await uow.session.execute(select(t.business_lines.c.code).where(t.business_lines.c.code.in_(lines)))).scalars())
    unknown = [i for i, line in enumerate(lines) if line not in known]
    if unknown:
        raise InvalidInput(
            [(f"sandbox_lines.{i}", "unknown_business_line", say("unknown_sandbox_line", code=lines[i])) for i in unknown]
        )
    stmt = pg_insert(t.cities).values(code=code, **data)
    await uow.session.execute(stmt.on_conflict_do_update(index_elements=["code"], set_={k: stmt.excluded[k] for k in data}))
    uow.db.read_cache.clear()
    return {"code": code, **data}
