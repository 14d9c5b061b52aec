"""A firm's month and its meters: what it used, what of it is invoiced, and what counts for subsidy.

The invoiced figures follow the events subsidy receives: an invoice counts in the month of its
issue date (Asia/Shanghai calendar date, as on the invoice), net of every red-letter reversal of
it recorded so far (or up to ``as_of``); a pool's attributed cost counts in the settled period.
Usage is the firm's latest record versions booked in the month (a late record for a closed month
is booked in the open month and says which month it concerns). ``as_of`` answers with what the
ledger had received by then; a closed month also shows the snapshot frozen at its close.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, text

from compute_ledger.adapters.tables import firm_accounts
from compute_ledger.adapters.usage_store import BOOKED_IN_MONTH
from compute_ledger.domain.periods import SHANGHAI, month_bounds, month_dates
from opc_shared.auth import Principal
from opc_shared.db import UnitOfWork, dicts
from opc_shared.errors import InvalidInput, NotFound
from opc_shared.scoping import may_read

RESOURCE = {"en": "firm", "zh-CN": "企业"}
CITY_FINANCE = "finance"


#: Built once: building the SELECT and its cache key anew cost more than PostgreSQL spends running it.
_FIRM = select(firm_accounts).where(firm_accounts.c.firm_id == bindparam("firm_id"))


async def readable_firm(uow: UnitOfWork, principal: Principal, firm_id: uuid.UUID) -> dict:
    """A firm user reads only its own firm, district staff their district's firms, finance every firm;
    anything else looks like a firm that does not exist."""
    row = (await uow.session.execute(_FIRM, {"firm_id": firm_id})).mappings().first()
    if row is None:
        raise NotFound(RESOURCE, firm_id)
    if CITY_FINANCE in principal.roles or may_read(principal, row["district"], firm=firm_id):
        return dict(row)
    raise NotFound(RESOURCE, firm_id)


_LATEST_AS_OF = """
    u.received_at <= :as_of
    AND (u.superseded_by IS NULL OR NOT EXISTS (
        SELECT 1 FROM ledger.usage c WHERE c.usage_id = u.superseded_by AND c.received_at <= :as_of))
"""

# The firm's month: latest versions booked in it, grouped by resource; a record whose window started
# before the month is a late one (concerning its own month).
_USAGE = f"""
SELECT u.vendor_id, u.kind, u.resource,
       CASE WHEN u.started_at < :start THEN to_char(u.started_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') END AS concerns,
       count(*) AS records,
       sum(u.gpu_seconds) AS gpu_seconds, sum(u.input_tokens) AS input_tokens,
       sum(u.cached_input_tokens) AS cached_input_tokens, sum(u.output_tokens) AS output_tokens,
       sum(u.amount_fen) AS amount_fen,
       coalesce(sum(u.amount_fen) FILTER (WHERE u.invoice_line_id IS NOT NULL), 0) AS invoiced_fen,
       coalesce(sum(u.amount_fen) FILTER (WHERE u.pool_id IS NOT NULL AND NOT u.over_quota), 0) AS pool_fen,
       count(*) FILTER (WHERE u.discrepancy IS NOT NULL) AS flagged
FROM ledger.usage u
WHERE u.firm_id = :firm_id AND {BOOKED_IN_MONTH} AND {_LATEST_AS_OF}
GROUP BY 1, 2, 3, 4
"""

_INVOICES = """
SELECT i.invoice_id, i.number, i.vendor_id, i.issued_on, i.status, i.problems, l.category,
       sum(l.amount_fen) AS amount_fen, sum(l.tax_fen) AS tax_fen,
       coalesce((SELECT sum(rl.amount_fen + rl.tax_fen) FROM ledger.invoices r
                 JOIN ledger.invoice_lines rl ON rl.invoice_id = r.invoice_id
                 JOIN ledger.invoice_lines bl ON bl.invoice_id = i.invoice_id AND bl.line_no = rl.line_no
                 WHERE r.reverses_id = i.invoice_id AND r.recorded_at <= :as_of AND bl.category = l.category), 0) AS reversed_fen
FROM ledger.invoices i JOIN ledger.invoice_lines l ON l.invoice_id = i.invoice_id
WHERE i.firm_id = :firm_id AND i.kind = 'blue' AND i.issued_on >= :first AND i.issued_on < :next
  AND i.received_at <= :as_of
GROUP BY i.invoice_id, l.category
"""

_REVERSALS = """
SELECT r.number, b.number AS reverses, r.issued_on, r.reason, r.total_fen
FROM ledger.invoices r JOIN ledger.invoices b ON b.invoice_id = r.reverses_id
WHERE r.firm_id = :firm_id AND r.kind = 'red' AND r.recorded_at <= :as_of
  AND ((b.issued_on >= :first AND b.issued_on < :next) OR (r.issued_on >= :first AND r.issued_on < :next))
"""

_POOLS = """
SELECT a.settlement_id, s.pool_id, a.category, a.units, a.amount_fen, a.tax_fen, a.total_fen, s.settled_at
FROM ledger.pool_attributions a JOIN ledger.pool_settlements s ON s.settlement_id = a.settlement_id
WHERE a.firm_id = :firm_id AND a.period = :month AND s.settled_at <= :as_of
"""

_SNAPSHOT = """
SELECT p.closed_at, s.category, s.records, s.amount_fen, s.invoiced_fen, s.uninvoiced_fen, s.pool_fen
FROM ledger.periods p LEFT JOIN ledger.period_snapshots s
  ON s.city = p.city AND s.period = p.period AND s.firm_id = :firm_id
WHERE p.city = :city AND p.period = :month AND p.closed_at <= :as_of
"""

#: Every part of the month in one round trip: each part an array of its rows (row values, which asyncpg
#: decodes with their column types; read by position, in the order the part selects them). Five
#: statements one after the other cost a round trip each, and a month usually holds a handful of rows.
_STATEMENT = text(f"""
SELECT ARRAY(SELECT x FROM ({_USAGE}) x) AS usage,
       ARRAY(SELECT x FROM ({_INVOICES}) x ORDER BY x.issued_on, x.number, x.category) AS invoices,
       ARRAY(SELECT x FROM ({_REVERSALS}) x ORDER BY x.issued_on, x.number) AS reversals,
       ARRAY(SELECT x FROM ({_POOLS}) x ORDER BY x.settled_at, x.pool_id) AS pools,
       ARRAY(SELECT x FROM ({_SNAPSHOT}) x ORDER BY x.category) AS snapshot
""")


_SUMS = ("records", "gpu_seconds", "input_tokens", "cached_input_tokens", "output_tokens", "amount_fen", "invoiced_fen",
         "pool_fen", "flagged")  # fmt: skip
_REVERSAL_COLUMNS = ("number", "reverses", "issued_on", "reason", "total_fen")
_POOL_COLUMNS = ("settlement_id", "pool_id", "category", "units", "amount_fen", "tax_fen", "total_fen", "settled_at")
_SNAPSHOT_COLUMNS = ("category", "records", "amount_fen", "invoiced_fen", "uninvoiced_fen", "pool_fen")


async def statement(uow: UnitOfWork, firm: dict, month: str, as_of: datetime) -> dict:
    first, nxt = month_dates(month)
    start, end = month_bounds(month)
    params = {"firm_id": firm["firm_id"], "month": month, "as_of": as_of, "first": first, "next": nxt, "start": start,
              "end": end, "city": firm["city"]}  # fmt: skip
    usage_rows, invoice_rows, reversal_rows, pool_rows, snapshot_rows = (await uow.session.execute(_STATEMENT, params)).one()
    groups: dict[tuple, dict] = {}
    late_by_month: dict[str, dict] = {}
    for vendor_id, kind, resource, concerns, *sums in usage_rows:
        key = (vendor_id, kind, resource)
        group = groups.get(key)
        if group is None:
            group = groups[key] = {"vendor_id": vendor_id, "kind": kind, "resource": resource} | dict.fromkeys(_SUMS, 0)
        for name, value in zip(_SUMS, sums, strict=True):
            group[name] += value
        if concerns is not None:
            late = late_by_month.setdefault(concerns, {"concerns_period": concerns, "records": 0, "amount_fen": 0})
            late["records"] += sums[0]
            late["amount_fen"] += sums[5]
    usage = [groups[k] for k in sorted(groups, key=lambda k: (k[1], k[2], str(k[0])))]
    for row in usage:
        row["uninvoiced_fen"] = row["amount_fen"] - row["invoiced_fen"] - row["pool_fen"]
    late = [late_by_month[k] for k in sorted(late_by_month)]
    invoices: dict = {}
    counted = {"compute": 0, "tokens": 0}
    for invoice_id, number, vendor_id, issued_on, status, problems, category, amount, tax, reversed_fen in invoice_rows:
        inv = invoices.get(invoice_id)
        if inv is None:
            inv = invoices[invoice_id] = {"number": number, "vendor_id": vendor_id, "issued_on": issued_on, "status": status,
                                          "problems": problems, "categories": []}  # fmt: skip
        total = amount + tax
        net = total - reversed_fen if status in ("recorded", "reversed") else 0
        inv["categories"].append(
            {"category": category, "amount_fen": amount, "tax_fen": tax, "total_fen": total, "reversed_fen": reversed_fen,
             "net_fen": net}
        )  # fmt: skip
        counted[category] += net
    reversals = [dict(zip(_REVERSAL_COLUMNS, r, strict=True)) for r in reversal_rows]
    pools = [dict(zip(_POOL_COLUMNS, r, strict=True)) for r in pool_rows]
    pool_counted = {"compute": 0, "tokens": 0}
    for p in pools:
        pool_counted[p["category"]] += p["total_fen"]
    snapshot = None
    if snapshot_rows:
        snapshot = {
            "closed_at": snapshot_rows[0][0],
            "categories": [dict(zip(_SNAPSHOT_COLUMNS, r[1:], strict=True)) for r in snapshot_rows if r[1] is not None],
        }
    return {
        "firm_id": firm["firm_id"],
        "firm_name": firm["firm_name"],
        "district": firm["district"],
        "month": month,
        "as_of": as_of,
        "compute_invoiced_fen": counted["compute"] + pool_counted["compute"],
        "tokens_invoiced_fen": counted["tokens"] + pool_counted["tokens"],
        "invoices_net_fen": counted,
        "pool_attributed_fen": pool_counted,
        "usage": usage,
        "late_records": late,
        "invoices": list(invoices.values()),
        "reversals": reversals,
        "pool_attributions": pools,
        "closed": snapshot is not None,
        "snapshot": snapshot,
    }


CSV_COLUMNS = ("section", "key", "category", "records", "amount_fen", "invoiced_fen", "uninvoiced_fen", "tax_fen", "net_fen")


def statement_csv(st: dict) -> str:
    """One line per usage group, invoice category, reversal and pool attribution, then the two totals."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for u in st["usage"]:
        writer.writerow(
            ["usage", f"{u['vendor_id']}/{u['resource']}", "compute" if u["kind"] == "gpu" else "tokens", u["records"],
             u["amount_fen"], u["invoiced_fen"], u["uninvoiced_fen"], "", ""]
        )  # fmt: skip
    for inv in st["invoices"]:
        for c in inv["categories"]:
            writer.writerow(
                ["invoice", inv["number"], c["category"], "", c["amount_fen"], c["total_fen"], "", c["tax_fen"], c["net_fen"]]
            )
    for r in st["reversals"]:
        writer.writerow(["reversal", f"{r['number']}>{r['reverses']}", "", "", "", "", "", "", -r["total_fen"]])
    for p in st["pool_attributions"]:
        writer.writerow(["pool", f"{p['pool_id']}/{p['settlement_id']}", p["category"], "", p["amount_fen"], "", "", p["tax_fen"],
                         p["total_fen"]])  # fmt: skip
    writer.writerow(["total", "compute_invoiced_fen", "compute", "", "", "", "", "", st["compute_invoiced_fen"]])
    writer.writerow(["total", "tokens_invoiced_fen", "tokens", "", "", "", "", "", st["tokens_invoiced_fen"]])
    return out.getvalue()


@dataclass(frozen=True)
class MeterQuery:
    granularity: str  # hour | day | month
    start: datetime
    end: datetime
    vendor_id: uuid.UUID | None = None
    kind: str | None = None


#: Asia/Shanghai has kept UTC+8 without daylight saving since 1991, so hour and day buckets are
#: fixed-width bins from a +08:00 origin (cheap arithmetic); months need the calendar.
BUCKET = {
    "hour": "date_bin('1 hour', u.started_at, TIMESTAMPTZ '2000-01-01 00:00:00+08')",
    "day": "date_bin('1 day', u.started_at, TIMESTAMPTZ '2000-01-01 00:00:00+08')",
    "month": "date_trunc('month', u.started_at AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai'",
}

MAX_SPAN = {"hour": timedelta(days=31), "day": timedelta(days=366), "month": timedelta(days=366 * 5)}


def meter_window(granularity: str, month_from: str | None, start: datetime | None, end: datetime | None, now: datetime):
    if start is None or end is None:
        first, last = month_bounds(month_from) if month_from else month_bounds(f"{now.astimezone(SHANGHAI):%Y-%m}")
        start, end = start or first, end or last
    if end <= start:
        raise InvalidInput([("to", "value_error", "must be after from")])
    if end - start > MAX_SPAN[granularity]:
        raise InvalidInput([("to", "value_error", f"at most {MAX_SPAN[granularity].days} days of {granularity} buckets")])
    return start, end


async def meters(uow: UnitOfWork, firm_id: uuid.UUID, q: MeterQuery) -> list[dict]:
    """Usage per vendor × kind × GPU/model × Asia/Shanghai hour, day or month: sums, COUNT, MAX and LATEST.

    Like the statement: what was drawn within a pool's quota is the pool's (``pool_fen``, billed to
    the community), neither invoiced to the firm nor waiting for its invoice."""
    where = ["u.firm_id = :firm_id", "u.started_at >= :start", "u.started_at < :end", "u.superseded_by IS NULL"]
    params: dict = {"firm_id": firm_id, "start": q.start, "end": q.end}
    if q.vendor_id:
        where.append("u.vendor_id = :vendor_id")
        params["vendor_id"] = q.vendor_id
    if q.kind:
        where.append("u.kind = :kind")
        params["kind"] = q.kind
    sql = text(f"""
        SELECT {BUCKET[q.granularity]} AS bucket,
               u.vendor_id, u.kind, u.resource, count(*) AS records,
               sum(u.gpu_seconds) AS gpu_seconds, sum(u.input_tokens) AS input_tokens,
               sum(u.cached_input_tokens) AS cached_input_tokens, sum(u.output_tokens) AS output_tokens,
               sum(u.amount_fen) AS amount_fen,
               coalesce(sum(u.amount_fen) FILTER (WHERE u.invoice_line_id IS NOT NULL), 0) AS invoiced_fen,
               coalesce(sum(u.amount_fen) FILTER (WHERE u.pool_id IS NOT NULL AND NOT u.over_quota), 0) AS pool_fen,
               max(u.amount_fen) AS max_amount_fen, max(u.ended_at) AS latest_ended_at
        FROM ledger.usage u WHERE {" AND ".join(where)}
        GROUP BY 1, u.vendor_id, u.kind, u.resource ORDER BY 1, u.kind, u.resource, u.vendor_id
    """)
    rows = dicts(await uow.session.execute(sql, params))
    for r in rows:
        r["uninvoiced_fen"] = r["amount_fen"] - r["invoiced_fen"] - r["pool_fen"]
    return rows
