"""``usage.reported``: validate each record, rate it, and store the batch in one statement.

One bad record never rejects the others; the batch is one transaction, so a failure leaves
nothing half-written. Records naming a USCC no registered firm has yet are stored unattributed
and attributed when ``firm.registered`` for that USCC arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from uuid import UUID

from sqlalchemy import text

from compute_ledger.adapters import usage_store
from compute_ledger.adapters.usage_store import EARLIEST, LATEST_AHEAD, PartitionKeeper
from compute_ledger.domain.periods import month_of
from compute_ledger.domain.pools import draw
from compute_ledger.domain.pricing import PriceBook, Tolerance, rate_gpu, rate_tokens, verdict
from compute_ledger.domain.usage import MAX_RECORDS, Outcome, Record, Window, parse_record, record_key, rejected
from opc_shared.db import Database, UnitOfWork
from opc_shared.errors import DomainError, InvalidInput


@dataclass(frozen=True)
class Vendor:
    vendor_id: UUID
    uscc: str
    prices: PriceBook


@dataclass(slots=True)
class _Pending:
    index: int
    record: Record
    key: bytes
    body_hash: bytes
    rated_fen: int | None
    discrepancy: str | None
    over_quota: bool = False
    pool_units: int = 0
    allocation: tuple[UUID, UUID] | None = None
    corrects: tuple[int, datetime] | None = None


def records_of(data: object) -> list:
    records = data.get("records") if isinstance(data, dict) else None
    if not isinstance(records, list) or not 1 <= len(records) <= MAX_RECORDS:
        raise InvalidInput([("data.records", "value_error", f"a list of 1 to {MAX_RECORDS} usage records")])
    return records


async def report(
    uow: UnitOfWork,
    db: Database,
    vendor: Vendor,
    data: object,
    *,
    message_key: bytes,
    now: datetime,
    tolerance: Tolerance,
    default_city: str,
    partitions: PartitionKeeper,
) -> dict:
    raw_records = records_of(data)
    outcomes: list[Outcome | None] = [None] * len(raw_records)
    pending: list[_Pending] = []
    seen: dict[str, bytes] = {}
    window = Window.between(EARLIEST, now + LATEST_AHEAD)
    for i, raw in enumerate(raw_records):
        parsed = parse_record(raw, i, window)
        if isinstance(parsed, Outcome):
            outcomes[i] = parsed
            continue
        body_hash = parsed.body_hash()
        if parsed.id in seen:
            same = seen[parsed.id] == body_hash
            outcomes[i] = Outcome(parsed.id, "duplicate") if same else _conflict(parsed.id, i)
            continue
        seen[parsed.id] = body_hash
        rated = _rate(vendor.prices, parsed)
        discrepancy = verdict(parsed.amount_fen, rated, tolerance)
        pending.append(_Pending(i, parsed, record_key(vendor.vendor_id, parsed.id), body_hash, rated, discrepancy))

    if any(p.record.correction_of for p in pending):
        await _check_corrections(uow, vendor, pending, outcomes)
    if any(p.record.pool_id for p in pending):
        await _draw_from_pools(uow, vendor, pending, outcomes)
    pending = [p for p in pending if outcomes[p.index] is None]

    if not pending:
        if not await usage_store.claim_message(
            uow.session, message_key=message_key, vendor_id=vendor.vendor_id, type_="usage.reported", now=now
        ):
            raise DomainError("webhook_replayed")
        return _answer(outcomes)

    months = [_month_at_hour(p.record.started_us // _HOUR_US) for p in pending]
    await partitions.ensure(db.engine, set(months))
    stored = await usage_store.ingest(
        uow.session,
        _rows(pending, months),
        message_key=message_key,
        vendor_id=vendor.vendor_id,
        now=now,
        default_city=default_city,
    )
    if stored is None:
        raise DomainError("webhook_replayed")
    accepted: list[tuple[_Pending, int | None]] = []
    for p in pending:
        earlier = stored.taken.get(p.key, _CLAIMED)
        if earlier is _CLAIMED:
            flags = _flags(p) if p.discrepancy or p.over_quota else ()
            outcomes[p.index] = Outcome(p.record.id, "accepted", flags=flags)
            accepted.append((p, stored.usage_ids.get(p.key)))
        elif earlier == p.body_hash:
            outcomes[p.index] = Outcome(p.record.id, "duplicate")
        else:
            outcomes[p.index] = _conflict(p.record.id, p.index)
    await _after_insert(uow, accepted)
    return _answer(outcomes)


def _flags(p: _Pending) -> tuple[str, ...]:
    return tuple(f for f in (p.discrepancy and f"price_{p.discrepancy}", p.over_quota and "over_quota") if f)


_CLAIMED = object()  # a key this call claimed (not among the keys it found taken)


def _conflict(record_id: str, index: int) -> Outcome:
    return rejected(record_id, "conflict", f"records[{index}].id", "this record id was received before with another body")


def _rate(prices: PriceBook, record: Record) -> int | None:
    price = prices.in_force(record.kind, record.resource, record.started_at)
    if price is None:
        return None
    if record.kind == "gpu":
        return rate_gpu(price, record.gpu_seconds) if price.fen_per_gpu_hour is not None else None
    return rate_tokens(price, record.input_tokens, record.cached_input_tokens, record.output_tokens)


def _rows(pending: list[_Pending], months: list[str]) -> list[list]:
    """The batch as rows in ``usage_store.COLUMNS`` order, ready for JSON (``months``: each record's month)."""
    return [
        [
            p.key.hex(), p.body_hash.hex(), (r := p.record).id, r.buyer_uscc, r.pool_id and str(r.pool_id), r.kind, r.resource,
            r.started_us, r.ended_us, r.gpu_seconds, r.input_tokens, r.cached_input_tokens,
            r.output_tokens, r.amount_fen, r.tax_rate_bp, p.rated_fen, p.discrepancy, r.correction_of, p.over_quota, month,
        ]
        for p, month in zip(pending, months, strict=True)
    ]  # fmt: skip


_HOUR_US = 3_600_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@lru_cache(maxsize=4096)
def _month_at_hour(hour: int) -> str:
    """The Asia/Shanghai month of the ``hour``-th UTC hour since the epoch: every moment of a UTC hour
    lies in one Shanghai month (its offset is whole hours), so a batch works months out once per hour."""
    return month_of(_EPOCH + timedelta(hours=hour))


def _answer(outcomes: list[Outcome | None]) -> dict:
    done = [o for o in outcomes if o is not None]
    counts = {s: sum(1 for o in done if o.status == s) for s in ("accepted", "duplicate", "rejected")}
    return {"received": len(done), **counts, "records": [o.as_json() for o in done]}


async def _check_corrections(uow: UnitOfWork, vendor: Vendor, pending: list[_Pending], outcomes: list) -> None:
    """``correction_of`` must name an earlier record of this vendor that is the latest version and not yet invoiced."""
    targets = {record_key(vendor.vendor_id, p.record.correction_of): p for p in pending if p.record.correction_of}
    rows = await uow.session.execute(
        text(
            "SELECT k.record_key, u.usage_id, u.started_at, u.invoice_line_id, u.superseded_by FROM ledger.usage_keys k "
            "JOIN ledger.usage u ON u.usage_id = k.usage_id AND u.started_at = k.started_at "
            "WHERE k.record_key = ANY(CAST(:keys AS bytea[])) FOR UPDATE OF u"
        ),
        {"keys": list(targets)},
    )
    found = {r.record_key: r for r in rows.all()}
    claimed: set[bytes] = set()
    for key, p in targets.items():
        field = f"records[{p.index}].correction_of"
        target = found.get(key)
        if target is None:
            outcomes[p.index] = rejected(p.record.id, "unknown_record", field, "no earlier record with this id")
        elif target.invoice_line_id is not None:
            outcomes[p.index] = rejected(p.record.id, "already_invoiced", field, "the record is invoiced: reverse it first")
        elif target.superseded_by is not None or key in claimed:
            outcomes[p.index] = rejected(p.record.id, "already_corrected", field, "correct the latest version instead")
        else:
            claimed.add(key)
            p.corrects = (target.usage_id, target.started_at)


async def _draw_from_pools(uow: UnitOfWork, vendor: Vendor, pending: list[_Pending], outcomes: list) -> None:
    """Pool records draw down the firm's allocation in batch order; what does not fit is over quota
    (recorded, flagged, billed to the firm directly). Allocations are locked for the batch."""
    pooled = [p for p in pending if p.record.pool_id and outcomes[p.index] is None]
    pool_ids = list({p.record.pool_id for p in pooled})
    pools = {
        r.pool_id: r
        for r in (
            await uow.session.execute(
                text("SELECT pool_id, vendor_id, kind FROM ledger.pools WHERE pool_id = ANY(CAST(:ids AS uuid[]))"),
                {"ids": pool_ids},
            )
        ).all()
    }
    existing = {
        k
        for (k,) in (
            await uow.session.execute(
                text("SELECT record_key FROM ledger.usage_keys WHERE record_key = ANY(CAST(:keys AS bytea[]))"),
                {"keys": [p.key for p in pooled]},
            )
        ).all()
    }
    allocations = {
        (r.pool_id, r.uscc): [r.firm_id, r.quota, r.drawn]
        for r in (
            await uow.session.execute(
                text(
                    "SELECT a.pool_id, a.firm_id, a.quota, a.drawn, f.uscc FROM ledger.pool_allocations a "
                    "JOIN ledger.firm_accounts f ON f.firm_id = a.firm_id "
                    "WHERE a.pool_id = ANY(CAST(:ids AS uuid[])) AND f.uscc = ANY(CAST(:usccs AS text[])) FOR UPDATE OF a"
                ),
                {"ids": pool_ids, "usccs": list({p.record.buyer_uscc for p in pooled})},
            )
        ).all()
    }
    for p in pooled:
        pool = pools.get(p.record.pool_id)
        if pool is None or pool.vendor_id != vendor.vendor_id or pool.kind != p.record.kind:
            outcomes[p.index] = rejected(
                p.record.id, "unknown_pool", f"records[{p.index}].pool_id", "no pool of this vendor and kind with this id"
            )
            continue
        if p.key in existing:
            continue  # a duplicate or a conflict: it draws nothing
        allocation = allocations.get((p.record.pool_id, p.record.buyer_uscc))
        if allocation is None:
            p.over_quota = True
            continue
        firm_id, quota, drawn = allocation
        verdict_ = draw(quota, drawn, p.record.units())
        p.over_quota = verdict_.over > 0
        p.pool_units = verdict_.within
        p.allocation = (p.record.pool_id, firm_id)
        allocation[2] = drawn + verdict_.within


async def _after_insert(uow: UnitOfWork, accepted: list[tuple[_Pending, int]]) -> None:
    corrections = [(p.corrects, new_id) for p, new_id in accepted if p.corrects]
    if corrections:
        await uow.session.execute(
            text(
                "UPDATE ledger.usage u SET superseded_by = v.new_id FROM unnest(CAST(:ids AS bigint[]), "
                "CAST(:starts AS timestamptz[]), CAST(:new AS bigint[])) AS v(usage_id, started_at, new_id) "
                "WHERE u.usage_id = v.usage_id AND u.started_at = v.started_at"
            ),
            {
                "ids": [c[0][0] for c in corrections],
                "starts": [c[0][1] for c in corrections],
                "new": [c[1] for c in corrections],
            },
        )
    draws: dict[tuple[UUID, UUID], list[int]] = {}
    for p, _ in accepted:
        if p.allocation is not None:
            acc = draws.setdefault(p.allocation, [0, 0])
            acc[0] += p.pool_units
        elif p.record.pool_id and p.over_quota:
            continue
    for p, _ in accepted:
        if p.allocation is not None and p.over_quota:
            draws[p.allocation][1] += p.record.units()
    for (pool_id, firm_id), (within, over) in draws.items():
        await uow.session.execute(
            text(
                "UPDATE ledger.pool_allocations SET drawn = drawn + :within, over_quota = over_quota + :over "
                "WHERE pool_id = :pool_id AND firm_id = :firm_id"
            ),
            {"within": within, "over": over, "pool_id": pool_id, "firm_id": firm_id},
        )
