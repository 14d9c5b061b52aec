"""The relay drains a backlog batch after batch, reading the next batch while the broker acknowledges the
previous one: every row reaches the topic once, in id order per key, and is marked sent."""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
import pytest

from opc_shared.db import asyncpg_dsn
from opc_shared.kafka import make_producer
from opc_shared.relay import OutboxRelay

from .conftest import Backbone, eventually


async def test_drain_publishes_a_backlog_of_many_batches_in_order(backbone: Backbone) -> None:
    firm = uuid.uuid4()  # one key: its 23 events must stay in publish order across 4 batches of 7
    ids = await backbone.publish_firms([f"批量{i:02d}" for i in range(23)], firm_id=firm)
    settings = backbone.registry_settings.model_copy(update={"relay_batch_size": 7})
    relay = OutboxRelay(settings)
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    producer = make_producer(settings)
    await producer.start()
    try:
        assert await relay.drain(conn, producer) == 23
        assert await relay.drain(conn, producer) == 0
    finally:
        await producer.stop()
        await conn.close()
    assert await backbone.unsent(ids) == 0
    mine = [r for r in await backbone.records_on_topic() if r.key == str(firm).encode()]
    ce_ids = [dict(r.headers)["ce_id"].decode() for r in mine]
    assert ce_ids == ids


class MarkFailsOnce(OutboxRelay):
    """The database refuses the first batch's mark-sent (after the broker acknowledged it)."""

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.marked: list[list[int]] = []

    async def mark_sent(self, conn, ids) -> None:
        if not self.marked:
            self.marked.append([])
            raise asyncpg.InterfaceError("simulated: mark-sent refused")
        self.marked.append(list(ids))
        await super().mark_sent(conn, ids)


async def test_pipelined_drain_marks_on_its_own_connection_and_a_failed_mark_only_duplicates(backbone: Backbone) -> None:
    """Reads on one connection, marks on another, overlapping: every row still goes out in order and is
    marked; a refused mark fails the drain without marking later batches, and the next drain sends again
    what was not marked (duplicates on the wire, nothing lost)."""
    firm = uuid.uuid4()
    ids = await backbone.publish_firms([f"流水{i:02d}" for i in range(23)], firm_id=firm)
    settings = backbone.registry_settings.model_copy(update={"relay_batch_size": 5})
    relay = MarkFailsOnce(settings)
    dsn = asyncpg_dsn(settings.database_url)
    conn, mark_conn = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    producer = make_producer(settings)
    await producer.start()
    try:
        with pytest.raises(asyncpg.InterfaceError):
            await relay.drain(conn, producer, mark_conn)
        assert await backbone.unsent(ids) == 23, "a batch after the refused one was marked out of order"
        assert await relay.drain(conn, producer, mark_conn) == 23
        assert await relay.drain(conn, producer, mark_conn) == 0
    finally:
        await producer.stop()
        await conn.close()
        await mark_conn.close()
    assert await backbone.unsent(ids) == 0
    assert [len(batch) for batch in relay.marked[1:]] == [5, 5, 5, 5, 3]
    mine = [dict(r.headers)["ce_id"].decode() for r in await backbone.records_on_topic() if r.key == str(firm).encode()]
    last_pass = mine[-23:]
    assert last_pass == ids, "the second drain sent every row again, in order"
    assert set(mine) == set(ids)


class BatchSizes(OutboxRelay):
    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.batches: list[int] = []

    async def mark_sent(self, conn, ids) -> None:
        await super().mark_sent(conn, ids)
        self.batches.append(len(ids))


async def test_relay_sends_an_isolated_commit_at_once_and_lingers_for_a_busy_stream(backbone: Backbone) -> None:
    settings = backbone.registry_settings.model_copy(update={"relay_linger_ms": 600, "relay_busy_window_ms": 300})
    relay = BatchSizes(settings)
    backbone.start_relay(relay)
    await eventually(lambda: _is(relay.is_leader), what="relay leads")
    await asyncio.sleep(0.5)  # quiet for longer than the busy window

    started = time.monotonic()
    first = await backbone.publish_firms(["单独一家"])
    await eventually(lambda: _unsent_zero(backbone, first), timeout=10, what="isolated event sent")
    assert time.monotonic() - started < 0.6, "an isolated commit waited for the linger"

    burst = await backbone.publish_firms([f"连续{i}" for i in range(10)])  # right behind it: a busy stream
    await eventually(lambda: _unsent_zero(backbone, burst), timeout=10, what="burst sent")
    assert relay.batches[0] == 1
    assert len(relay.batches[1:]) <= 2, f"ten commits went out in batches of {relay.batches[1:]}"


async def _is(value: bool) -> bool:
    return value


async def _unsent_zero(backbone: Backbone, ids: list[str]) -> bool:
    return await backbone.unsent(ids) == 0


async def test_relay_sends_the_ce_headers_traceparent_and_any_other_stored_header(backbone: Backbone) -> None:
    [event_id] = await backbone.publish_firms(["带头信息"])
    settings = backbone.registry_settings
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    producer = make_producer(settings)
    await producer.start()
    try:
        await conn.execute(
            'UPDATE registry.outbox SET headers = headers || \'{"x-origin": "import"}\'::jsonb WHERE event_id = $1',
            uuid.UUID(event_id),
        )
        traceparent = await conn.fetchval(
            "SELECT headers->>'traceparent' FROM registry.outbox WHERE event_id = $1", uuid.UUID(event_id)
        )
        assert await OutboxRelay(settings).drain(conn, producer) == 1
    finally:
        await producer.stop()
        await conn.close()
    [record] = [r for r in await backbone.records_on_topic() if dict(r.headers)["ce_id"].decode() == event_id]
    headers = dict(record.headers)
    assert headers["ce_type"] == b"opc.registry.firm.registered.v1" and headers["ce_source"] == b"/opc/registry"
    assert headers["x-origin"] == b"import"
    assert (headers.get("traceparent") or b"").decode() == (traceparent or "")
