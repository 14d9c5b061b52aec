"""The ingest hot path: one multi-row statement per ``usage.reported`` batch, no per-record round trips.

The statement unpacks the batch (one JSON array of rows), records the webhook message id (the
whole statement does nothing if the id was seen before), claims the records' dedup keys with
``INSERT … ON CONFLICT DO NOTHING``, inserts the usage rows of the keys it claimed — attributing
each to the firm whose USCC it names and booking it in its own month, or in the open month when
its month is closed for the firm's city (a late restatement) — and answers in one row: the keys
it did not claim (duplicates and conflicts) with the body hash stored under each, and the new
usage ids of the corrections it stored. Every key it does not name, it claimed: an answer of
one row, not one per record, is what the ledger has to decode.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from compute_ledger.domain.periods import month_bounds, month_of
from opc_shared.reads import ReadSession

#: The batch travels as one JSON array of rows in this column order (one parameter, parsed by
#: PostgreSQL in C): measured, this costs the ledger ~2 ms less per 1,000 records than one typed
#: array parameter per column (the driver encodes arrays element by element, ~3.6 ms) and
#: PostgreSQL no more. The records' keys and body hashes travel beside it as two ``bytea``
#: parameters, each the rows' 16-byte values one after the other (not 32 hex digits per value inside
#: the JSON, to decode; not ``bytea[]``, which the driver encodes element by element, ~0.5 ms a batch).
#: Moments travel as exact microseconds since the epoch (integers: cheaper to write than RFC 3339
#: text and to read than to parse); an interval times a bigint below 2⁵³ is exact.
_MOMENT = "timestamptz 'epoch' + (r->>{i})::bigint * interval '1 microsecond'"
COLUMNS = (
    ("record_id", "r->>{i}"),
    ("buyer_uscc", "r->>{i}"),
    ("pool_id", "(r->>{i})::uuid"),
    ("kind", "r->>{i}"),
    ("resource", "r->>{i}"),
    ("started_at", _MOMENT),
    ("ended_at", _MOMENT),
    ("gpu_seconds", "(r->>{i})::bigint"),
    ("input_tokens", "(r->>{i})::bigint"),
    ("cached_input_tokens", "(r->>{i})::bigint"),
    ("output_tokens", "(r->>{i})::bigint"),
    ("amount_fen", "(r->>{i})::bigint"),
    ("tax_rate_bp", "(r->>{i})::int"),
    ("rated_fen", "(r->>{i})::bigint"),
    ("discrepancy", "r->>{i}"),
    ("correction_of", "r->>{i}"),
    ("over_quota", "(r->>{i})::boolean"),
    ("month", "r->>{i}"),  # the Asia/Shanghai month of started_at (the ledger works it out once per hour of the batch)
)

#: msgspec's encoder: the same JSON as pydantic-core's ``to_json`` for these rows (strings, integers,
#: booleans, nulls), ~0.2 ms per 1,000 rows instead of ~0.65
_encode = msgspec.json.Encoder().encode

_SELECT = ", ".join(f"{expr.format(i=i)} AS {name}" for i, (name, expr) in enumerate(COLUMNS))

#: The usage rows (alias ``u``) booked in a month: its own rows that are not late, found through
#: (firm_id, started_at) with the month's partition pruned, and the late rows booked in it (booked in the
#: open month because their own was closed), through the partial index of late rows. Parameters: the
#: month as ``:month`` and its Asia/Shanghai bounds as ``:start`` and ``:end``.
BOOKED_IN_MONTH = "((u.started_at >= :start AND u.started_at < :end AND NOT u.late) OR (u.late AND u.booked_period = :month))"

INGEST_SQL = text(f"""
WITH input AS (
    SELECT substring(CAST(:keys AS bytea) FROM CAST(n AS int) * 16 - 15 FOR 16) AS record_key,
           substring(CAST(:hashes AS bytea) FROM CAST(n AS int) * 16 - 15 FOR 16) AS body_hash, {_SELECT}
    FROM jsonb_array_elements(CAST(convert_from(CAST(:rows AS bytea), 'UTF8') AS jsonb)) WITH ORDINALITY AS x(r, n)
), msg AS (
    INSERT INTO ledger.webhook_messages (message_key, vendor_id, type, received_at)
    VALUES (:message_key, :vendor_id, 'usage.reported', :now)
    ON CONFLICT DO NOTHING
    RETURNING 1
), fresh AS (
    INSERT INTO ledger.usage_keys (record_key, body_hash, started_at, usage_id)
    SELECT record_key, body_hash, started_at, nextval('ledger.usage_id_seq')
    FROM input WHERE EXISTS (SELECT 1 FROM msg)
    ON CONFLICT DO NOTHING
    RETURNING record_key, usage_id
), inserted AS (
    INSERT INTO ledger.usage (
        usage_id, started_at, ended_at, vendor_id, record_id, firm_id, buyer_uscc, pool_id, kind, resource,
        gpu_seconds, input_tokens, cached_input_tokens, output_tokens, amount_fen, tax_rate_bp, rated_fen,
        discrepancy, correction_of, over_quota, booked_period, late, received_at)
    SELECT f.usage_id, i.started_at, i.ended_at, :vendor_id, i.record_id, fa.firm_id, i.buyer_uscc, i.pool_id, i.kind,
        i.resource, i.gpu_seconds, i.input_tokens, i.cached_input_tokens, i.output_tokens, i.amount_fen, i.tax_rate_bp,
        i.rated_fen, i.discrepancy, i.correction_of, i.over_quota,
        CASE WHEN b.closed THEN :open_month ELSE i.month END, b.closed AND :open_month <> i.month,
        :now
    FROM input i JOIN fresh f USING (record_key)
    LEFT JOIN ledger.firm_accounts fa ON fa.uscc = i.buyer_uscc
    CROSS JOIN LATERAL (SELECT EXISTS (
        SELECT 1 FROM ledger.periods p WHERE p.city = coalesce(fa.city, :default_city) AND p.period = i.month) AS closed) b
), taken AS (
    -- keys this call did not claim (duplicates, conflicts), with the hash stored under each
    SELECT i.record_key, (SELECT k.body_hash FROM ledger.usage_keys k WHERE k.record_key = i.record_key) AS body_hash
    FROM input i WHERE EXISTS (SELECT 1 FROM msg) AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.record_key = i.record_key)
), corrections AS (
    SELECT f.record_key, f.usage_id FROM fresh f JOIN input i USING (record_key) WHERE i.correction_of IS NOT NULL
)
SELECT (SELECT count(*) FROM msg) AS fresh_message, t.keys AS taken_keys, t.hashes AS taken_hashes,
       c.keys AS corrected_keys, c.ids AS correction_ids
FROM (SELECT array_agg(record_key) AS keys, array_agg(body_hash) AS hashes FROM taken) AS t,
     (SELECT array_agg(record_key) AS keys, array_agg(usage_id) AS ids FROM corrections) AS c
""")

MESSAGE_SQL = text("""
INSERT INTO ledger.webhook_messages (message_key, vendor_id, type, received_at)
VALUES (:message_key, :vendor_id, :type, :now) ON CONFLICT DO NOTHING RETURNING 1
""")


@dataclass(frozen=True)
class Stored:
    """What one ``ingest`` call did with the batch's keys (only when its message was new)."""

    taken: dict[bytes, bytes | None]  # key not claimed by this call → the body hash stored under it earlier
    usage_ids: dict[bytes, int]  # key of a correction this call stored → its new usage id


async def claim_message(
    session: AsyncSession | ReadSession, *, message_key: bytes, vendor_id: UUID, type_: str, now: datetime
) -> bool:
    """Records the webhook-id for good; False when it was seen before (a replay)."""
    got = await session.execute(MESSAGE_SQL, {"message_key": message_key, "vendor_id": vendor_id, "type": type_, "now": now})
    return got.first() is not None


async def ingest(
    session: AsyncSession | ReadSession,
    rows: list[list],
    keys: list[bytes],
    hashes: list[bytes],
    *,
    message_key: bytes,
    vendor_id: UUID,
    now: datetime,
    default_city: str,
) -> Stored | None:
    """What happened to the batch's keys; None when the message is a replay (then nothing was written).

    ``rows``: one list per record in :data:`COLUMNS` order (moments as microseconds); ``keys`` and
    ``hashes``: each record's 16-byte key and body hash, in the same order."""
    params: dict[str, object] = {
        "rows": _encode(rows),  # the encoder's UTF-8 bytes as they are: no str made of them and encoded again
        "keys": _joined(keys, len(rows)),
        "hashes": _joined(hashes, len(rows)),
        "message_key": message_key,
        "vendor_id": vendor_id,
        "now": now,
        "default_city": default_city,
        "open_month": month_of(now),
    }
    if isinstance(session, ReadSession):  # the usual batch, in autocommit: on the driver, run once
        (row,) = await session.write_once(INGEST_SQL, params)
    else:
        row = tuple((await session.execute(INGEST_SQL, params)).one())
    fresh_message, taken_keys, taken_hashes, corrected_keys, correction_ids = row
    if not fresh_message:
        return None
    taken = dict(zip(taken_keys or (), taken_hashes or (), strict=True))
    missing = [key for key, body_hash in taken.items() if body_hash is None]
    if missing:
        # Claimed by a concurrent batch that committed after our snapshot: read its hash now.
        rows_now = await session.execute(
            text("SELECT record_key, body_hash FROM ledger.usage_keys WHERE record_key = ANY(CAST(:keys AS bytea[]))"),
            {"keys": missing},
        )
        taken.update((key, body_hash) for key, body_hash in rows_now.all())
    return Stored(taken, dict(zip(corrected_keys or (), correction_ids or (), strict=True)))


def _joined(values: list[bytes], count: int) -> bytes:
    """``count`` 16-byte values one after the other (the statement slices them by position)."""
    joined = b"".join(values)
    if len(joined) != 16 * count:
        raise ValueError("each row needs one 16-byte key and one 16-byte body hash")
    return joined


class PartitionKeeper:
    """Creates the monthly partitions of ``ledger.usage`` before rows for a new month arrive.

    Runs in its own short transaction (DDL takes a brief lock on the parent table); the set of
    months known to exist is cached per process, so the hot path pays nothing once a month exists."""

    def __init__(self) -> None:
        self._known: set[str] = set()

    async def ensure(self, engine: AsyncEngine, months: set[str]) -> None:
        """``months``: the ``YYYY-MM`` months (Asia/Shanghai) of the rows about to be inserted."""
        months = months - self._known
        if not months:
            return  # the usual batch: its months are known to exist
        async with engine.begin() as conn:
            existing = {
                name
                for (name,) in await conn.execute(
                    text(
                        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                        "JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace "
                        "WHERE n.nspname = 'ledger' AND p.relname = 'usage'"
                    )
                )
            }
            for month in sorted(months):
                name = partition_name(month)
                if name not in existing:
                    start, end = month_bounds(month)
                    await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('ledger.usage.partitions'))"))
                    await conn.execute(
                        text(
                            f"CREATE TABLE IF NOT EXISTS ledger.{name} PARTITION OF ledger.usage "
                            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
                        )
                    )
        self._known |= months


def partition_name(month: str) -> str:
    return "usage_" + month.replace("-", "_")


EARLIEST = datetime.fromisoformat("2020-01-01T00:00:00+08:00")
LATEST_AHEAD = timedelta(days=1)
