"""``usage.reported``: validate each record, rate it, and store the batch in one statement.

One bad record never rejects the others; the batch is one transaction, so a failure leaves
nothing half-written. Records naming a USCC no registered firm has yet are stored unattributed
and attributed when ``firm.registered`` for that USCC arrives.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from uuid import UUID

from msgspec import Struct
from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from compute_ledger.adapters import usage_store
from compute_ledger.adapters.usage_store import EARLIEST, LATEST_AHEAD, PartitionKeeper
from compute_ledger.domain.periods import month_of
from compute_ledger.domain.pools import Draw, draw, drew
from compute_ledger.domain.pricing import PriceBook, Tolerance, verdict
from compute_ledger.domain.usage import (
    MAX_RECORDS,
    Outcome,
    Record,
    Window,
    parse_record,
    parse_typed,
    pool_units,
    record_key,
    record_keys,
    rejected,
)
from opc_shared.db import Database, UnitOfWork
from opc_shared.errors import DomainError, InvalidInput
from opc_shared.reads import ReadSession


@dataclass(frozen=True)
class Vendor:
    vendor_id: UUID
    uscc: str
    prices: PriceBook


class _Pending(Struct, gc=False):
    """A valid record of the batch on its way to the store (a msgspec struct, made in C: one per record)."""

    index: int
    record: Record
    key: bytes
    body_hash: bytes
    rated_fen: int | None
    discrepancy: str | None
    over_quota: bool = False
    draws: Draw | None = None  # what the record counts on ``allocation`` (pool, firm)
    allocation: tuple[UUID, UUID] | None = None
    corrects: tuple[int, datetime] | None = None  # the version it restates
    gives_back: Draw | None = None  # what that version counted on ``gives_back_to``
    gives_back_to: tuple[UUID, UUID] | None = None


def records_of(data: object) -> list:
    records = data.get("records") if isinstance(data, dict) else None
    if not isinstance(records, list) or not 1 <= len(records) <= MAX_RECORDS:
        raise InvalidInput([("data.records", "value_error", f"a list of 1 to {MAX_RECORDS} usage records")])
    return records


async def report(
    uow: UnitOfWork,
    db: Database,
    vendor: Vendor,
    raw_records: list,
    *,
    typed: bool = False,
    message_key: bytes,
    now: datetime,
    tolerance: Tolerance,
    default_city: str,
    partitions: PartitionKeeper,
    autocommit: ReadSession | None = None,
) -> Answer:
    """``raw_records``: the batch's records, as JSON values (``records_of``) or, with ``typed``, as the
    typed decoder took them (``decode_usage``).

    ``autocommit``: a session without a transaction, for the usual batch (no restatement, no pool
    record): its whole write is the one ingest statement, atomic by itself, so it runs without
    BEGIN and COMMIT (two round trips fewer). A batch that restates or draws locks rows first and
    writes in several statements: it runs in ``uow``'s transaction (``autocommit`` is closed first)."""
    parse = parse_typed if typed else parse_record
    outcomes: list[Outcome | None] = [None] * len(raw_records)
    pending: list[_Pending] = []
    seen: dict[str, bytes] = {}
    window = Window.between(EARLIEST, now + LATEST_AHEAD)
    key_of, prices = record_keys(vendor.vendor_id), vendor.prices
    for i, raw in enumerate(raw_records):
        parsed = parse(raw, i, window)
        if isinstance(parsed, Outcome):
            outcomes[i] = parsed
            continue
        body_hash = parsed.body_hash()
        if parsed.id in seen:
            same = seen[parsed.id] == body_hash
            outcomes[i] = Outcome(parsed.id, "duplicate") if same else _conflict(parsed.id, i)
            continue
        seen[parsed.id] = body_hash
        rated = prices.rate(
            parsed.kind, parsed.resource, parsed.started_us, parsed.gpu_seconds, parsed.input_tokens,
            parsed.cached_input_tokens, parsed.output_tokens,
        )  # fmt: skip
        pending.append(_Pending(i, parsed, key_of(parsed.id), body_hash, rated, verdict(parsed.amount_fen, rated, tolerance)))

    months = [_month_at_hour(p.record.started_us // _HOUR_US) for p in pending]
    # before the batch locks any row of ledger.usage: a new partition's DDL waits for every such lock, its own too
    await partitions.ensure(db.engine, set(months))
    session = uow.session if autocommit is None else autocommit
    restates_or_draws = any(p.record.correction_of or p.record.pool_id for p in pending)
    if restates_or_draws:
        if autocommit is not None:
            await autocommit.close()  # its connection back to the pool before the transaction takes one
        session = uow.session
        await _restate_and_draw(uow, vendor, pending, outcomes)
        kept = [i for i, p in enumerate(pending) if outcomes[p.index] is None]
        pending, months = [pending[i] for i in kept], [months[i] for i in kept]

    if not pending:
        if not await usage_store.claim_message(
            session, message_key=message_key, vendor_id=vendor.vendor_id, type_="usage.reported", now=now
        ):
            raise DomainError("webhook_replayed")
        return _answer(outcomes)

    stored = await usage_store.ingest(
        session,
        _rows(pending, months),
        [p.key for p in pending],
        [p.body_hash for p in pending],
        message_key=message_key,
        vendor_id=vendor.vendor_id,
        now=now,
        default_city=default_city,
    )
    if stored is None:
        raise DomainError("webhook_replayed")
    accepted: list[tuple[_Pending, int | None]] = []
    taken, usage_ids = stored.taken, stored.usage_ids
    for p in pending:
        earlier = taken.get(p.key, _CLAIMED)
        if earlier is _CLAIMED:
            if p.discrepancy or p.over_quota:
                outcomes[p.index] = Outcome(p.record.id, "accepted", flags=_flags(p))
            else:
                outcomes[p.index] = Outcome(p.record.id, "accepted")
            if restates_or_draws:
                accepted.append((p, usage_ids.get(p.key)))
        elif earlier == p.body_hash:
            outcomes[p.index] = Outcome(p.record.id, "duplicate")
        else:
            outcomes[p.index] = _conflict(p.record.id, p.index)
    if restates_or_draws:  # only such a batch has versions to mark superseded or allocations to move
        await _after_insert(uow, accepted)
    return _answer(outcomes)


def _flags(p: _Pending) -> tuple[str, ...]:
    return tuple(f for f in (p.discrepancy and f"price_{p.discrepancy}", p.over_quota and "over_quota") if f)


_CLAIMED = object()  # a key this call claimed (not among the keys it found taken)


def _conflict(record_id: str, index: int) -> Outcome:
    return rejected(record_id, "conflict", f"records[{index}].id", "this record id was received before with another body")


def _rows(pending: list[_Pending], months: list[str]) -> list[list]:
    """The batch as rows in ``usage_store.COLUMNS`` order, ready for JSON (``months``: each record's month;
    the keys and body hashes travel beside the rows, as bytes)."""
    return [
        [
            (r := p.record).id, r.buyer_uscc, r.pool_id and str(r.pool_id), r.kind, r.resource,
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


class Answer(Struct):
    """The answer to a ``usage.reported`` call: counts, then one verdict per record in batch order
    (encoded by msgspec as it stands: no dict per record)."""

    received: int
    accepted: int
    duplicate: int
    rejected: int
    records: list[Outcome]


def _answer(outcomes: list[Outcome | None]) -> Answer:
    done = [o for o in outcomes if o is not None]
    counts = Counter([o.status for o in done])
    return Answer(len(done), counts["accepted"], counts["duplicate"], counts["rejected"], done)


async def _restate_and_draw(uow: UnitOfWork, vendor: Vendor, pending: list[_Pending], outcomes: list) -> None:
    """Checks restatements and draws pool records down their firms' allocations, in batch order.

    ``correction_of`` must name an earlier record of this vendor that is the latest version and not
    yet invoiced; the restatement gives back what that version counted on its allocation, then draws
    as a new record (``domain/pools.py``). Pool records draw in batch order; what does not fit is over
    quota (recorded, flagged, billed to the firm directly). A record whose id was seen before is a
    duplicate or a conflict, which the ingest statement answers: it restates and draws nothing.

    Locks, in the order settlements and allocation changes take them too (pool, then allocations):
    the versions restated, the pools involved (``KEY SHARE``: a firm's allocation is not created
    while a batch draws on the pool, so its first counters see every record), the allocations."""
    session = uow.session
    targets = await _restated_versions(session, vendor, pending)
    restated_pooled = [t for t in targets.values() if t.pool_id is not None]
    pool_ids = {p.record.pool_id for p in pending if p.record.pool_id} | {t.pool_id for t in restated_pooled}
    usccs = {p.record.buyer_uscc for p in pending if p.record.pool_id} | {t.buyer_uscc for t in restated_pooled}
    pools, allocations = await _pools_and_allocations(session, pool_ids, usccs) if pool_ids else ({}, {})
    involved = [p for p in pending if p.record.correction_of or p.record.pool_id]
    seen = {
        k
        for (k,) in (
            await session.execute(
                text("SELECT record_key FROM ledger.usage_keys WHERE record_key = ANY(CAST(:keys AS bytea[]))"),
                {"keys": [p.key for p in involved]},
            )
        ).all()
    }
    restated: set[bytes] = set()
    for p in involved:
        record = p.record
        if p.key in seen:
            continue
        target = None
        if record.correction_of:
            target_key = record_key(vendor.vendor_id, record.correction_of)
            target = targets.get(target_key)
            field = f"records[{p.index}].correction_of"
            if target is None:
                outcomes[p.index] = rejected(record.id, "unknown_record", field, "no earlier record with this id")
                continue
            if target.invoice_line_id is not None:
                outcomes[p.index] = rejected(record.id, "already_invoiced", field, "the record is invoiced: reverse it first")
                continue
            if target.superseded_by is not None or target_key in restated:
                outcomes[p.index] = rejected(record.id, "already_corrected", field, "correct the latest version instead")
                continue
        if record.pool_id:
            pool = pools.get(record.pool_id)
            if pool is None or pool.vendor_id != vendor.vendor_id or pool.kind != record.kind:
                field = f"records[{p.index}].pool_id"
                outcomes[p.index] = rejected(record.id, "unknown_pool", field, "no pool of this vendor and kind with this id")
                continue
        if target is not None:
            restated.add(target_key)
            p.corrects = (target.usage_id, target.started_at)
            earlier = allocations.get((target.pool_id, target.buyer_uscc)) if target.pool_id else None
            if earlier is not None:
                units = pool_units(target.kind, target.gpu_seconds, target.input_tokens, target.cached_input_tokens,
                                   target.output_tokens)  # fmt: skip
                p.gives_back = drew(units, target.over_quota)
                p.gives_back_to = (target.pool_id, earlier[0])
                earlier[2] -= p.gives_back.within
        if record.pool_id:
            allocation = allocations.get((record.pool_id, record.buyer_uscc))
            if allocation is None:
                p.over_quota = True
                continue
            firm_id, quota, drawn = allocation
            p.draws = draw(quota, drawn, record.units())
            p.over_quota = p.draws.over > 0
            p.allocation = (record.pool_id, firm_id)
            allocation[2] = drawn + p.draws.within


async def _restated_versions(session: AsyncSession, vendor: Vendor, pending: list[_Pending]) -> dict[bytes, Row]:
    """The versions the batch's ``correction_of`` name, by record key, locked."""
    keys = [record_key(vendor.vendor_id, p.record.correction_of) for p in pending if p.record.correction_of]
    if not keys:
        return {}
    rows = await session.execute(
        text(
            "SELECT k.record_key, u.usage_id, u.started_at, u.invoice_line_id, u.superseded_by, u.pool_id, u.buyer_uscc, "
            "u.over_quota, u.kind, u.gpu_seconds, u.input_tokens, u.cached_input_tokens, u.output_tokens "
            "FROM ledger.usage_keys k JOIN ledger.usage u ON u.usage_id = k.usage_id AND u.started_at = k.started_at "
            "WHERE k.record_key = ANY(CAST(:keys AS bytea[])) FOR UPDATE OF u"
        ),
        {"keys": keys},
    )
    return {r.record_key: r for r in rows.all()}


async def _pools_and_allocations(session: AsyncSession, pool_ids: set[UUID], usccs: set[str]) -> tuple[dict, dict]:
    """The pools (``KEY SHARE``) and the allocations of the firms with these USCCs in them (``FOR UPDATE``):
    pool id → (vendor_id, kind); (pool id, USCC) → [firm id, quota, drawn] (drawn tallied by the caller)."""
    pools = {
        r.pool_id: r
        for r in (
            await session.execute(
                text(
                    "SELECT pool_id, vendor_id, kind FROM ledger.pools WHERE pool_id = ANY(CAST(:ids AS uuid[])) "
                    "ORDER BY pool_id FOR KEY SHARE"
                ),
                {"ids": list(pool_ids)},
            )
        ).all()
    }
    allocations = {
        (r.pool_id, r.uscc): [r.firm_id, r.quota, r.drawn]
        for r in (
            await session.execute(
                text(
                    "SELECT a.pool_id, a.firm_id, a.quota, a.drawn, f.uscc FROM ledger.pool_allocations a "
                    "JOIN ledger.firm_accounts f ON f.firm_id = a.firm_id WHERE a.pool_id = ANY(CAST(:ids AS uuid[])) "
                    "AND f.uscc = ANY(CAST(:usccs AS text[])) ORDER BY a.pool_id, a.firm_id FOR UPDATE OF a"
                ),
                {"ids": list(pool_ids), "usccs": list(usccs)},
            )
        ).all()
    }
    return pools, allocations


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
    moves: dict[tuple[UUID, UUID], list[int]] = {}
    for p, _ in accepted:
        for allocation, counted, sign in ((p.allocation, p.draws, 1), (p.gives_back_to, p.gives_back, -1)):
            if allocation is not None and counted is not None:
                move = moves.setdefault(allocation, [0, 0])
                move[0] += sign * counted.within
                move[1] += sign * counted.over
    for (pool_id, firm_id), (within, over) in sorted(moves.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]))):
        await uow.session.execute(
            text(
                "UPDATE ledger.pool_allocations SET drawn = drawn + :within, over_quota = over_quota + :over "
                "WHERE pool_id = :pool_id AND firm_id = :firm_id"
            ),
            {"within": within, "over": over, "pool_id": pool_id, "firm_id": firm_id},
        )
