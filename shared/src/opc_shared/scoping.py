"""Who may read which rows: one place for district and firm scoping, like polar's
``get_readable_statement``.

- Staff (caseworker, reviewer, finance, admin) read their own district; a ``*`` district
  reads every district.
- A firm user reads only rows of their own firm (``firm`` column = the token's firm_id) or,
  where a table records it, rows they opened themselves (``account`` column = the token's sub,
  or any ``owned_by(principal)`` condition, e.g. "the firm my case created").
- Anyone else has no scope: a list is 403, a single record is not found.
- An explicit ``?district=`` outside the caller's district is refused the same way everywhere
  (403 ``forbidden``); inside it, it narrows a city-wide caller's view.

A single record outside the caller's scope is "not found" (:func:`read_one`; :func:`may_read`
for an aggregate already loaded), so ids cannot be probed across districts.

Usage::

    SCOPE = Scope(district=accounts.c.district, firm=accounts.c.firm_id)
    query = readable(select(accounts), principal, SCOPE, district=district)          # a list
    row = await read_one(session, ACCOUNTS, principal, SCOPE, key=accounts.c.firm_id, id=firm_id,
                         resource="subsidy account")                             # one record, or 404
                                                          # (ACCOUNTS = select(accounts), built once)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Query
from sqlalchemy import Select, Uuid, bindparam, false, or_, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from opc_shared.auth import CITY_WIDE, STAFF_ROLES, Principal
from opc_shared.errors import Forbidden, NotFound

T = TypeVar("T")

#: ``?district=`` on a list: narrows a city-wide caller's view; naming another district is 403.
DistrictQuery = Annotated[
    str | None,
    Query(max_length=64, description="a district code; outside your own district only city-wide (*) users may name one"),
]


@dataclass(frozen=True)
class Scope:
    """The columns of a table that say whose a row is."""

    district: ColumnElement[Any]
    firm: ColumnElement[Any] | None = None
    account: ColumnElement[Any] | None = None
    #: Further rows a firm user owns, as a condition built for that user.
    owned_by: Callable[[Principal], ColumnElement[bool]] | None = None


def is_staff(principal: Principal, roles: tuple[str, ...] = STAFF_ROLES) -> bool:
    return principal.has_any(*roles)


def check_district_param(principal: Principal, district: str | None) -> None:
    """Refuse an explicit ``?district=`` the caller may not read."""
    if district is not None and not principal.may_see_district(district):
        raise Forbidden({"en": f"district {district} is not yours", "zh-CN": f"{district} 不是您所属的区"})


def staff_district(principal: Principal, district: str | None = None, *, roles: tuple[str, ...] = STAFF_ROLES) -> str | None:
    """The one district a staff view covers, or None for all of them (city-wide, no filter)."""
    if not is_staff(principal, roles):
        raise Forbidden({"en": "this view is for street-office staff", "zh-CN": "此视图仅供街道工作人员使用"})
    check_district_param(principal, district)
    return district if principal.district == CITY_WIDE else principal.district


#: SQL already built, by what it is built from: SQL expressions are immutable, so one caller's
#: condition (or single-record statement) serves all their requests (building ``column == value`` anew
#: cost ~5 % of a read, a SELECT by key and its cache key ~10 %).
_BUILT: dict[tuple[Any, ...], tuple[tuple[object, ...], Any]] = {}
_BUILT_MAX = 4096


def _built(owners: tuple[object, ...], values: tuple[Any, ...], build: Callable[[], T]) -> T:
    """``build()``, or what was built before from the same ``owners`` (objects, compared by identity)
    and ``values`` (compared by equality). An entry holds its owners, so their ids cannot be reused by
    other objects while it exists."""
    key = (*map(id, owners), *values)
    hit = _BUILT.get(key)
    if hit is not None and all(held is owner for held, owner in zip(hit[0], owners, strict=True)):
        return hit[1]
    built = build()
    if len(_BUILT) >= _BUILT_MAX:
        _BUILT.clear()
    _BUILT[key] = (owners, built)
    return built


def in_district(
    query: Select[Any], principal: Principal, column: ColumnElement[Any], *, district: str | None = None
) -> Select[Any]:
    """Rows of the caller's district (all districts, or the asked one, for ``*``) whatever their
    role: for reference data every user of a district reads, such as its communities."""
    check_district_param(principal, district)
    wanted = district if principal.district == CITY_WIDE else principal.district
    return query.where(_built((column,), (wanted,), lambda: column == wanted)) if wanted else query


def readable(
    query: Select[Any],
    principal: Principal,
    scope: Scope,
    *,
    district: str | None = None,
    staff_roles: tuple[str, ...] = STAFF_ROLES,
) -> Select[Any]:
    """A list: ``query`` narrowed to the rows ``principal`` may read (and to ``district`` if
    asked); 403 for a caller with no scope at all (neither staff nor a firm user)."""
    check_district_param(principal, district)
    if is_staff(principal, staff_roles):
        return in_district(query, principal, scope.district, district=district)
    if "firm" not in principal.roles:
        raise Forbidden(
            {
                "en": "these records are for street-office staff and the firms themselves",
                "zh-CN": "这些记录仅供街道工作人员和企业本身查看",
            }
        )
    if district:
        query = query.where(scope.district == district)
    return query.where(_own_rows(principal, scope))


def readable_condition(principal: Principal, scope: Scope, *, staff_roles: tuple[str, ...] = STAFF_ROLES) -> ColumnElement[bool]:
    """The same rule as one SQL condition, for reading single records (no match: not found)."""
    return _built((scope,), (principal, staff_roles), lambda: _readable_condition(principal, scope, staff_roles))


def _readable_condition(principal: Principal, scope: Scope, staff_roles: tuple[str, ...]) -> ColumnElement[bool]:
    if is_staff(principal, staff_roles):
        return true() if principal.district == CITY_WIDE else scope.district == principal.district
    return _own_rows(principal, scope) if "firm" in principal.roles else false()


def _own_rows(principal: Principal, scope: Scope) -> ColumnElement[bool]:
    clauses = []
    if scope.firm is not None and principal.firm_id:
        firm_id: object = principal.firm_id
        if isinstance(scope.firm.type, Uuid):
            try:
                firm_id = uuid.UUID(principal.firm_id)
            except ValueError:
                firm_id = None  # a token naming no real firm owns no row
        if firm_id is not None:
            clauses.append(scope.firm == firm_id)
    if scope.account is not None:
        clauses.append(scope.account == principal.sub)
    if scope.owned_by is not None:
        clauses.append(scope.owned_by(principal))
    return or_(*clauses) if clauses else false()


async def read_one(
    session: AsyncSession,
    query: Select[Any],
    principal: Principal,
    scope: Scope,
    *,
    key: ColumnElement[Any],
    id: object,
    resource: str | dict[str, str],
    staff_roles: tuple[str, ...] = STAFF_ROLES,
    for_update: bool = False,
) -> dict[str, Any]:
    """The row of ``query`` whose ``key`` is ``id`` if ``principal`` may read it, else :class:`NotFound`.

    ``query`` should be built once (a module constant, ``select(table)``): the statement with the key as
    a bound parameter and the caller's condition is then built once per caller and reused, where
    building and cache-keying it anew cost ~10 % of a read by id."""
    condition = readable_condition(principal, scope, staff_roles=staff_roles)

    def build() -> Select[Any]:
        statement = query.where(key == bindparam("read_one_key"), condition)
        return statement.with_for_update() if for_update else statement

    statement = _built((query, key, condition), (for_update,), build)
    row = (await session.execute(statement, {"read_one_key": id})).mappings().first()
    if row is None:
        raise NotFound(resource, id)
    return dict(row)


def may_read(
    principal: Principal,
    district: str,
    *,
    firm: object = None,
    account: str | None = None,
    staff_roles: tuple[str, ...] = STAFF_ROLES,
) -> bool:
    """The row-level twin of :func:`readable`, for one loaded record."""
    if is_staff(principal, staff_roles) and principal.may_see_district(district):
        return True
    if "firm" not in principal.roles:
        return False
    if firm is not None and principal.firm_id is not None and principal.firm_id == str(firm):
        return True
    return account is not None and account == principal.sub
