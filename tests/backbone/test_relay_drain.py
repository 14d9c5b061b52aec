"""The relay drains a backlog batch after batch, reading the next batch while the broker acknowledges the
previous one: every row reaches the topic once, in id order per key, and is marked sent."""

from __future__ import annotations

import uuid

import asyncpg

from opc_shared.db import asyncpg_dsn
from opc_shared.kafka import make_producer
from opc_shared.relay import OutboxRelay

from .conftest import Backbone


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
