"""Read side for the street office: queues by status, owner, community and SLA risk; district figures."""

from __future__ import annotations

import statistics
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, Text, and_, cast, func, or_, select

from opc_shared.auth import Principal
from opc_shared.clock import SHANGHAI
from opc_shared.db import UnitOfWork
from opc_shared.errors import InvalidInput
from opc_shared.pagination import Keyset, Page, PageParams
from opc_shared.scoping import Scope, readable, staff_district
from registry.adapters import tables as t
from registry.adapters.repository import CaseRepository, clock_from_json
from registry.domain.messages import say
from registry.service.cases import STAFF
from registry.service.districts import check_district_filter

RISKS = ("on_track", "at_risk", "overdue")
KEYSET = Keyset(t.cases.c.created_at, t.cases.c.id)
#: Staff read their district's cases; a founder reads the cases they opened (and their firm's).
SCOPE = Scope(district=t.cases.c.district, firm=t.cases.c.firm_id, account=t.cases.c.founder_sub)


#: A queue row as the summary shows it, field by field and in its order (ids as text, times in UTC: the
#: page is written straight to JSON, see :func:`opc_shared.pagination.page_response`), then what its SLA
#: risk and the cursor need. The form's name only, not the whole form (decoding 50 forms was a tenth of
#: the request).
_QUEUE_COLUMNS = (
    cast(t.cases.c.id, Text).label("id"),
    t.cases.c.district,
    t.cases.c.status,
    t.cases.c.owner,
    cast(t.cases.c.community_id, Text).label("community_id"),
    t.cases.c.form["proposed_name"].astext.label("proposed_name"),
    t.cases.c.sandbox,
    t.cases.c.submitted_at,
    t.cases.c.accepted_at,
    t.cases.c.licence_due_at,
    t.cases.c.licence_warn_at,
    t.cases.c.licence_issued_at,
    t.cases.c.version,
    t.cases.c.created_at,
)


async def queue(
    uow: UnitOfWork,
    *,
    principal: Principal,
    now: datetime,
    district: str | None,
    status: str | None,
    owner: str | None,
    community_id: uuid.UUID | None,
    sla_risk: str | None,
    page: PageParams,
) -> Page[dict[str, Any]]:
    """A page of case summaries, each a dict in :class:`~registry.api.schemas.CaseSummary`'s shape."""
    c = t.cases
    first_page = sla_risk is None and page.cursor is None
    if first_page:
        query = _first_page(principal, district, status, owner, community_id, page.limit)
    else:
        query = _filtered(principal, district, status, owner, community_id)
    await check_district_filter(uow, district)
    if not first_page:
        running = and_(c.c.licence_due_at.is_not(None), c.c.licence_issued_at.is_(None))
        if sla_risk == "overdue":
            query = query.where(running, c.c.licence_due_at <= now)
        elif sla_risk == "at_risk":
            query = query.where(running, c.c.licence_warn_at <= now, c.c.licence_due_at > now)
        elif sla_risk == "on_track":
            query = query.where(or_(~running, c.c.licence_warn_at > now))
        query = KEYSET.apply(query, page)
    rows = (await uow.session.execute(query)).all()
    found = KEYSET.page(rows, page, position=lambda row: (row[13], row[0]))
    return found.map(lambda row: _summary(row, now))


def _filtered(
    principal: Principal, district: str | None, status: str | None, owner: str | None, community_id: uuid.UUID | None
) -> Select[Any]:
    c = t.cases
    query = readable(select(*_QUEUE_COLUMNS), principal, SCOPE, district=district, staff_roles=STAFF)
    if status:
        query = query.where(c.c.status == status)
    if owner:
        query = query.where(c.c.owner == owner)
    if community_id:
        query = query.where(c.c.community_id == community_id)
    return query


@lru_cache(maxsize=1024)
def _first_page(
    principal: Principal, district: str | None, status: str | None, owner: str | None, community_id: uuid.UUID | None, limit: int
) -> Select[Any]:
    """The first page of a queue whose filters do not depend on the time (what a caseworker refreshes),
    built once per caller and filters: building the SELECT and its cache key cost more than running it.
    A refused caller raises every time (exceptions are not cached)."""
    return KEYSET.apply(_filtered(principal, district, status, owner, community_id), PageParams(limit=limit))


def _summary(row: Any, now: datetime) -> dict[str, Any]:
    """A row of :data:`_QUEUE_COLUMNS` as the summary shows it."""
    id_, district, status, owner, community_id, name, sandbox, submitted, accepted, due_at, warn_at, issued_at, version, _ = row
    return {
        "id": id_,
        "district": district,
        "status": status,
        "owner": owner,
        "community_id": community_id,
        "proposed_name": name,
        "sandbox": sandbox,
        "submitted_at": submitted,
        "accepted_at": accepted,
        "licence_due_at": due_at,
        "sla_risk": risk_of(due_at, warn_at, issued_at, now),
        "version": version,
    }


def risk_of(due_at: datetime | None, warn_at: datetime | None, issued_at: datetime | None, now: datetime) -> str | None:
    """Computed on read, never stored: the same case is on track today and overdue next week."""
    if due_at is None or issued_at is not None:
        return None
    if due_at <= now:
        return "overdue"
    if warn_at is not None and warn_at <= now:
        return "at_risk"
    return "on_track"


def _percentile(values: list[Decimal], q: float) -> float | None:
    """Nearest-rank percentile: a figure an office can check by hand."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 1))  # ceil(n·q)
    return float(ordered[int(rank) - 1])


async def figures(
    uow: UnitOfWork, *, principal: Principal, district: str | None, start: date, end: date, now: datetime
) -> dict[str, Any]:
    """Figures for cases accepted in [start, end] (local dates), plus cases opened (submitted) in that window."""
    if start > end:
        raise InvalidInput([("to", "before_from", say("to_before_from", to=end.isoformat(), start=start.isoformat()))])
    scope = staff_district(principal, district, roles=STAFF)
    await check_district_filter(uow, district)
    c = t.cases
    window_start = datetime.combine(start, time(0), tzinfo=SHANGHAI)
    window_end = datetime.combine(end + timedelta(days=1), time(0), tzinfo=SHANGHAI)
    where = [c.c.district == scope] if scope else []
    opened = (
        await uow.session.execute(
            select(func.count()).select_from(c).where(*where, c.c.submitted_at >= window_start, c.c.submitted_at < window_end)
        )
    ).scalar_one()
    accepted = (
        await uow.session.execute(
            select(
                c.c.id,
                c.c.accepted_at,
                c.c.licence_issued_at,
                c.c.account_opened_at,
                c.c.licence_clock,
                c.c.account_due_at,
                c.c.licence_due_at,
            ).where(*where, c.c.accepted_at >= window_start, c.c.accepted_at < window_end)
        )
    ).all()
    calendar = await CaseRepository(uow).calendar()
    licence_days, account_days = [], []
    licence_within = account_within = licence_breaches = account_breaches = 0
    for row in accepted:
        clock = clock_from_json(row.licence_clock)
        if row.licence_issued_at is not None and clock is not None:
            used = clock.working_days_used(row.licence_issued_at, calendar)
            licence_days.append(used)
            due = clock.due(calendar)
            if due is not None and row.licence_issued_at <= due:
                licence_within += 1
            else:
                licence_breaches += 1
        elif row.licence_due_at is not None and row.licence_due_at <= now:
            licence_breaches += 1
        if row.account_opened_at is not None and clock is not None:
            account_days.append(clock.working_days_used(row.account_opened_at, calendar))
            if row.account_opened_at <= row.account_due_at:  # the promise itself is one calendar week
                account_within += 1
            else:
                account_breaches += 1
        elif row.account_due_at is not None and row.account_due_at <= now:
            account_breaches += 1
    return {
        "district": scope or "*",
        "from": start.isoformat(),
        "to": end.isoformat(),
        "cases_opened": opened,
        "cases_accepted": len(accepted),
        "licence": {
            "issued": len(licence_days),
            "median_working_days": float(statistics.median(licence_days)) if licence_days else None,
            "p90_working_days": _percentile(licence_days, 0.9),
            "within_promise_share": round(licence_within / len(licence_days), 4) if licence_days else None,
            "breaches": licence_breaches,
        },
        "account": {
            "opened": len(account_days),
            "median_working_days": float(statistics.median(account_days)) if account_days else None,
            "p90_working_days": _percentile(account_days, 0.9),
            "within_promise_share": round(account_within / len(account_days), 4) if account_days else None,
            "breaches": account_breaches,
        },
    }
