"""Closing a city's month: after the grace period, freeze every firm's totals in a snapshot.

A closed snapshot is never rewritten: records that arrive later for the month are booked in the
open month (``adapters/usage_store``), marked with the month they concern."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, text

from compute_ledger.adapters.tables import periods
from compute_ledger.adapters.usage_store import BOOKED_IN_MONTH
from compute_ledger.domain.periods import ClosingRule, month_bounds, month_dates, month_of
from opc_shared.contracts.ledger import PeriodClosedV1
from opc_shared.db import UnitOfWork, dicts
from opc_shared.errors import DomainError
from opc_shared.times import local_text

_SNAPSHOT = text(f"""
INSERT INTO ledger.period_snapshots (city, period, firm_id, category, records, amount_fen, invoiced_fen, uninvoiced_fen, pool_fen)
WITH firms AS (
    SELECT firm_id FROM ledger.firm_accounts WHERE city = :city
), used AS (
    SELECT u.firm_id, CASE WHEN u.kind = 'gpu' THEN 'compute' ELSE 'tokens' END AS category, count(*) AS records,
           sum(u.amount_fen) AS amount_fen,
           coalesce(sum(u.amount_fen) FILTER (WHERE u.invoice_line_id IS NULL AND (u.pool_id IS NULL OR u.over_quota)), 0)
               AS uninvoiced_fen
    FROM ledger.usage u JOIN firms f ON f.firm_id = u.firm_id
    WHERE {BOOKED_IN_MONTH} AND u.superseded_by IS NULL
    GROUP BY 1, 2
), billed AS (
    SELECT i.firm_id, l.category, sum(l.amount_fen + l.tax_fen - l.reversed_amount_fen - l.reversed_tax_fen) AS invoiced_fen
    FROM ledger.invoices i JOIN ledger.invoice_lines l ON l.invoice_id = i.invoice_id JOIN firms f ON f.firm_id = i.firm_id
    WHERE i.kind = 'blue' AND i.status IN ('recorded', 'reversed') AND i.issued_on >= :first AND i.issued_on < :next
    GROUP BY 1, 2
), pooled AS (
    SELECT a.firm_id, a.category, sum(a.total_fen) AS pool_fen
    FROM ledger.pool_attributions a JOIN firms f ON f.firm_id = a.firm_id WHERE a.period = :period
    GROUP BY 1, 2
), keys AS (
    SELECT firm_id, category FROM used UNION SELECT firm_id, category FROM billed UNION SELECT firm_id, category FROM pooled
)
SELECT :city, :period, k.firm_id, k.category, coalesce(u.records, 0), coalesce(u.amount_fen, 0),
       coalesce(b.invoiced_fen, 0) + coalesce(p.pool_fen, 0), coalesce(u.uninvoiced_fen, 0), coalesce(p.pool_fen, 0)
FROM keys k
LEFT JOIN used u ON u.firm_id = k.firm_id AND u.category = k.category
LEFT JOIN billed b ON b.firm_id = k.firm_id AND b.category = k.category
LEFT JOIN pooled p ON p.firm_id = k.firm_id AND p.category = k.category
""")


async def close(uow: UnitOfWork, city: str, period: str, *, now: datetime, rule: ClosingRule) -> dict:
    if period >= month_of(now):
        raise DomainError("period_refused", {"reason": f"{period} is not over yet"})
    if not rule.may_close(period, now):
        closes = rule.closes_at(period)
        reason = {
            "en": f"{period} closes after its grace period, on {local_text(closes, 'en')}",
            "zh-CN": f"{period} 须在宽限期后关账，即 {local_text(closes, 'zh-CN')} 起",
        }
        raise DomainError("period_refused", {"reason": reason})
    await uow.session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"ledger.period:{city}:{period}"})
    existing = (
        await uow.session.execute(select(periods.c.closed_at).where(periods.c.city == city, periods.c.period == period))
    ).scalar_one_or_none()
    if existing is not None:
        reason = {
            "en": f"{period} was closed on {local_text(existing, 'en')}",
            "zh-CN": f"{period} 已于 {local_text(existing, 'zh-CN')} 关账",
        }
        raise DomainError("period_refused", {"reason": reason})
    await uow.session.execute(periods.insert().values(city=city, period=period, closed_at=now))
    first, nxt = month_dates(period)
    start, end = month_bounds(period)
    await uow.session.execute(
        _SNAPSHOT,
        {"city": city, "period": period, "month": period, "first": first, "next": nxt, "start": start, "end": end},
    )
    totals = (
        await uow.session.execute(
            text(
                "SELECT count(DISTINCT firm_id) AS firms, coalesce(sum(invoiced_fen), 0) AS invoiced, "
                "coalesce(sum(uninvoiced_fen), 0) AS uninvoiced FROM ledger.period_snapshots WHERE city = :c AND period = :p"
            ),
            {"c": city, "p": period},
        )
    ).one()
    event = PeriodClosedV1(
        city=city,
        period=period,
        firms=totals.firms,
        invoiced_fen=totals.invoiced,
        uninvoiced_fen=totals.uninvoiced,
        closed_at=now,
    )
    uow.publish(event)
    return event.model_dump()


async def list_closed(uow: UnitOfWork, city: str) -> list[dict]:
    rows = await uow.session.execute(select(periods).where(periods.c.city == city).order_by(periods.c.period.desc()))
    return dicts(rows)
