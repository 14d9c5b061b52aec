"""The ingest statement against the real database: what it answers when a concurrent batch holds the same keys."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import text

from compute_ledger.adapters import usage_store
from compute_ledger.adapters.usage_store import EARLIEST, PartitionKeeper
from compute_ledger.domain.periods import month_of
from compute_ledger.domain.usage import Window, parse_record, record_key
from compute_ledger.service.ingest import _Pending, _rows
from opc_devstack.ledger_flows import gpu, new_uscc


def _batch(vendor_id: uuid.UUID, records: list[dict], now) -> list[_Pending]:
    out = []
    for i, raw in enumerate(records):
        record = parse_record(raw, i, Window.between(EARLIEST, now + timedelta(days=1)))
        out.append(_Pending(i, record, record_key(vendor_id, record.id), record.body_hash(), 1200, None))
    return out


async def _ingest(session, vendor_id: uuid.UUID, pending: list[_Pending], now) -> usage_store.Stored | None:
    return await usage_store.ingest(
        session,
        _rows(pending, [month_of(p.record.started_at) for p in pending]),
        [p.key for p in pending],
        [p.body_hash for p in pending],
        message_key=uuid.uuid4().bytes,
        vendor_id=vendor_id,
        now=now,
        default_city="chengdu",
    )


async def test_keys_a_concurrent_batch_committed_meanwhile_are_answered_with_its_hash(ledger) -> None:
    vendor_id, now = uuid.UUID((await ledger.vendor()).id), ledger.clock.now()
    buyer, at = new_uscc(), now - timedelta(hours=2)
    first = _batch(vendor_id, [gpu(buyer, "k-1", at=at), gpu(buyer, "k-2", at=at)], now)
    # the second batch repeats k-1 as it is, k-2 with another amount, and brings k-3
    second = _batch(vendor_id, [gpu(buyer, "k-1", at=at), gpu(buyer, "k-2", at=at, amount=1), gpu(buyer, "k-3", at=at)], now)
    await PartitionKeeper().ensure(ledger.db.engine, {month_of(at)})
    async with ledger.db.sessionmaker() as a, ledger.db.sessionmaker() as b:
        assert await _ingest(a, vendor_id, first, now) == usage_store.Stored({}, {})  # claimed both, not yet committed
        waiting = asyncio.create_task(_ingest(b, vendor_id, second, now))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # the second batch's claim waits for the first batch's transaction
        await a.commit()
        stored = await asyncio.wait_for(waiting, 10)
        await b.commit()
    # both keys were taken after the second statement's snapshot: their hashes are read again, not left unknown
    assert stored == usage_store.Stored({first[0].key: first[0].body_hash, first[1].key: first[1].body_hash}, {})
    assert stored.taken[second[0].key] == second[0].body_hash  # a duplicate
    assert stored.taken[second[1].key] != second[1].body_hash  # a conflict
    assert second[2].key not in stored.taken  # claimed by the second batch


async def test_replayed_message_writes_nothing_and_corrections_get_their_new_ids(ledger) -> None:
    vendor_id, now = uuid.UUID((await ledger.vendor()).id), ledger.clock.now()
    buyer, at = new_uscc(), now - timedelta(hours=2)
    await PartitionKeeper().ensure(ledger.db.engine, {month_of(at)})
    original = _batch(vendor_id, [gpu(buyer, "m-1", at=at)], now)
    restated = _batch(vendor_id, [gpu(buyer, "m-2", at=at, amount=900, correction_of="m-1"), gpu(buyer, "m-3", at=at)], now)
    async with ledger.db.sessionmaker() as session:
        await _ingest(session, vendor_id, original, now)
        key = uuid.uuid4().bytes
        rows = _rows(restated, [month_of(at)] * len(restated))
        keys, hashes = [p.key for p in restated], [p.body_hash for p in restated]
        common = {"message_key": key, "vendor_id": vendor_id, "now": now, "default_city": "chengdu"}
        stored = await usage_store.ingest(session, rows, keys, hashes, **common)
        assert stored is not None and stored.taken == {} and list(stored.usage_ids) == [restated[0].key]
        assert await usage_store.ingest(session, rows, keys, hashes, **common) is None  # the same message id again
        await session.commit()


async def test_moments_are_stored_to_the_microsecond_whatever_their_offset(ledger) -> None:
    vendor = await ledger.vendor()
    buyer = new_uscc()
    started = (ledger.clock.now() - timedelta(days=3, microseconds=876_543)).astimezone(timezone(timedelta(hours=5, minutes=45)))
    ended = (started + timedelta(seconds=59, microseconds=1)).astimezone(UTC)
    record = {**gpu(buyer, "t-1", at=started), "started_at": started.isoformat(), "ended_at": ended.isoformat()}
    answer = await vendor.usage([record])
    assert answer["accepted"] == 1
    async with ledger.db.sessionmaker() as session:
        row = (
            await session.execute(
                text("SELECT started_at, ended_at FROM ledger.usage WHERE vendor_id = CAST(:v AS uuid)"), {"v": vendor.id}
            )
        ).one()
    assert (row.started_at, row.ended_at) == (started, ended) and row.started_at.microsecond == started.microsecond


async def test_records_are_booked_in_their_shanghai_month_on_either_side_of_its_start(ledger) -> None:
    vendor = await ledger.vendor()
    buyer = new_uscc()
    november = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)  # 1 November 00:00 in Chengdu
    last_of_october = november - timedelta(microseconds=1)
    answer = await vendor.usage([gpu(buyer, "b-1", at=last_of_october, seconds=60), gpu(buyer, "b-2", at=november, seconds=60)])
    assert answer["accepted"] == 2
    async with ledger.db.sessionmaker() as session:
        booked = dict(
            (
                await session.execute(
                    text("SELECT record_id, booked_period FROM ledger.usage WHERE vendor_id = CAST(:v AS uuid)"), {"v": vendor.id}
                )
            ).all()
        )
    assert booked == {"b-1": "2026-10", "b-2": "2026-11"}


async def test_text_beyond_ascii_is_stored_as_sent_and_its_id_is_deduplicated(ledger) -> None:
    # the batch travels as UTF-8 bytes (msgspec writes non-ASCII characters unescaped) and is decoded by PostgreSQL
    vendor = await ledger.vendor()
    buyer, at = new_uscc(), ledger.clock.now() - timedelta(hours=3)
    record = {**gpu(buyer, "记录-é-1", at=at), "gpu_model": '昇腾-910B "双" \\ 卡'}
    assert (await vendor.usage([record, gpu(buyer, "plain-1", at=at)]))["accepted"] == 2
    again = await vendor.usage([record])
    assert (again["accepted"], again["duplicate"]) == (0, 1)
    async with ledger.db.sessionmaker() as session:
        rows = (
            await session.execute(
                text("SELECT record_id, resource FROM ledger.usage WHERE vendor_id = CAST(:v AS uuid) ORDER BY record_id"),
                {"v": vendor.id},
            )
        ).all()
    assert [tuple(r) for r in rows] == [("plain-1", "A800"), ("记录-é-1", '昇腾-910B "双" \\ 卡')]
