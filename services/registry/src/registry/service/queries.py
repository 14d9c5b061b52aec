"""Read side for the street office: queues by status, owner, community and SLA risk; district figures."""

from __future__ import annotations

import statistics
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_, select

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


#: What a queue row shows: the form's name only, not the whole form (decoding 50 forms was a tenth of the request).
_QUEUE_COLUMNS = (
    *(
        t.cases.c[name]
        for name in (
            "id",
            "district",
            "status",
            "owner",
            "community_id",
            "sandbox",
            "submitted_at",
            "accepted_at",
            "licence_due_at",
            "licence_warn_at",
            "licence_issued_at",
            "version",
            "created_at",
        )
    ),
    t.cases.c.form["proposed_name"].astext.label("proposed_name"),
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
) -> Page:
    c = t.cases
    query = readable(select(*_QUEUE_COLUMNS), principal, SCOPE, district=district, staff_roles=STAFF)
    await check_district_filter(uow, district)
    if status:
        query = query.where(c.c.status == status)
    if owner:
        query = query.where(c.c.owner == owner)
    if community_id:
        query = query.where(c.c.community_id == community_id)
    running = and_(c.c.licence_due_at.is_not(None), c.c.licence_issued_at.is_(None))
    if sla_risk == "overdue":
        query = query.where(running, c.c.licence_due_at <= now)
    elif sla_risk == "at_risk":
        query = query.where(running, c.c.licence_warn_at <= now, c.c.licence_due_at > now)
    elif sla_risk == "on_track":
        query = query.where(or_(~running, c.c.licence_warn_at > now))
    found = await KEYSET.fetch(uow.session, query, page)
    return found.map(lambda row: {**row, "sla_risk": risk_of(row, now)})


def risk_of(row: dict[str, Any], now: datetime) -> str | None:
    """Computed on read, never stored: the same case is on track today and overdue next week."""
    if row["licence_due_at"] is None or row["licence_issued_at"] is not None:
        return None
    if row["licence_due_at"] <= now:
        return "overdue"
    if row["licence_warn_at"] is not None and row["licence_warn_at"] <= now:
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
