"""Transactional-outbox relay: outbox rows → Kafka, in id order, marked sent afterwards.

Wakes on NOTIFY from the committing transaction, with a slow poll only as a fallback.
Only the holder of a per-service advisory lock publishes, so replicas keep per-key order.
While the broker is down it backs off and retries; nothing is marked sent until the broker
has acknowledged it, so a crash between publish and mark-sent only duplicates on the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from datetime import datetime

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from opc_shared import metrics
from opc_shared.db import asyncpg_dsn
from opc_shared.events import kafka_headers
from opc_shared.kafka import make_producer
from opc_shared.settings import ServiceSettings

log = structlog.get_logger("opc.relay")


class OutboxRelay:
    lock_retry_s = 2.0

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.schema = settings.db_schema
        self._wake = asyncio.Event()
        self.is_leader = False
        self._last_gauge = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 0.2
        while not stop.is_set():
            try:
                conn = await asyncpg.connect(asyncpg_dsn(self.settings.database_url), timeout=10)
            except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
                log.warning("relay.db_unreachable", error=str(exc), retry_in_s=backoff)
                await _sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, self.settings.relay_max_backoff_s)
                continue
            backoff = 0.2
            try:
                if await self._acquire_lock(conn, stop):
                    await self._lead(conn, stop)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                metrics.RELAY_ERRORS.labels(self.settings.service_name).inc()
                log.warning("relay.db_error", error=str(exc))
                await _sleep_or_stop(stop, 1.0)
            except Exception:  # a bug must not silently end publishing: log it, back off, start over
                metrics.RELAY_ERRORS.labels(self.settings.service_name).inc()
                log.exception("relay.unexpected_error")
                await _sleep_or_stop(stop, self.settings.relay_max_backoff_s)
            finally:
                self._set_leader(False)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.close(), 5)

    async def _acquire_lock(self, conn: asyncpg.Connection, stop: asyncio.Event) -> bool:
        while not stop.is_set():
            if await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", f"opc_outbox_relay:{self.schema}"):
                self._set_leader(True)
                log.info("relay.leader", schema=self.schema)
                return True
            await _sleep_or_stop(stop, self.lock_retry_s)
        return False

    def _set_leader(self, value: bool) -> None:
        self.is_leader = value
        metrics.RELAY_ACTIVE.labels(self.settings.service_name).set(1 if value else 0)

    async def _lead(self, conn: asyncpg.Connection, stop: asyncio.Event) -> None:
        def on_notify(*_: object) -> None:
            self._wake.set()

        await conn.add_listener(self.settings.outbox_channel, on_notify)
        producer: AIOKafkaProducer | None = None
        # Batches are marked sent on a connection of their own, overlapping the next batch's read.
        mark_conn = await asyncpg.connect(asyncpg_dsn(self.settings.database_url), timeout=10)
        backoff = 0.2
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    if producer is None:
                        producer = make_producer(self.settings)
                        await producer.start()
                    published = await self.drain(conn, producer, mark_conn)
                    backoff = 0.2
                except KafkaError as exc:
                    metrics.RELAY_ERRORS.labels(self.settings.service_name).inc()
                    log.warning("relay.broker_unavailable", error=repr(exc), retry_in_s=backoff)
                    if producer is not None:
                        with contextlib.suppress(Exception):
                            await asyncio.wait_for(producer.stop(), 5)
                        producer = None
                    await _sleep_or_stop(stop, backoff)
                    backoff = min(backoff * 2, self.settings.relay_max_backoff_s)
                    continue
                await self._update_gauges(conn)
                if published >= self.settings.relay_batch_size:
                    continue
                drained_at = time.monotonic()
                await _wait_any(self._wake, stop, self.settings.relay_poll_interval_s)
                await self._linger(drained_at, stop)
        finally:
            if producer is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(producer.stop(), 5)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(mark_conn.close(), 5)
            with contextlib.suppress(Exception):
                await conn.remove_listener(self.settings.outbox_channel, on_notify)

    async def _linger(self, drained_at: float, stop: asyncio.Event) -> None:
        """Woken soon after the last batch (a busy stream), give the commits right behind this one a
        moment to land, so the next batch carries several rows for one SELECT, produce and UPDATE."""
        linger_s = self.settings.relay_linger_ms / 1000
        if linger_s <= 0 or not self._wake.is_set() or stop.is_set():
            return
        if time.monotonic() - drained_at <= self.settings.relay_busy_window_ms / 1000:
            await _sleep_or_stop(stop, linger_s)

    async def publish_batch(self, conn: asyncpg.Connection, producer: AIOKafkaProducer) -> int:
        """One batch: read, send, await the acks, mark sent."""
        rows = await self._unsent(conn, after=0)
        if rows:
            await self._settle(conn, rows, await self._send(producer, rows))
        return len(rows)

    async def drain(
        self, conn: asyncpg.Connection, producer: AIOKafkaProducer, mark_conn: asyncpg.Connection | None = None
    ) -> int:
        """Publish every unsent row, batch after batch, in id order.

        A pipeline of three stages: while batch n is handed to the producer, batch n + 1 is read on
        ``conn`` and batch n − 1, once the broker has acknowledged all of it, is marked sent on
        ``mark_conn``, so the database's work overlaps the relay's own instead of adding to it (on one
        connection, given none, reads and marks take turns). Batches are marked in order, each only once
        all of its records are acknowledged; if the broker fails half-way, whatever was not marked is
        sent again by the next drain (duplicates, never loss)."""
        turns = asyncio.Lock() if mark_conn is None or mark_conn is conn else None
        reads, marks = turns or asyncio.Lock(), turns or asyncio.Lock()
        mark_conn = mark_conn or conn

        async def read(after: int) -> list[asyncpg.Record]:
            async with reads:
                return await self._unsent(conn, after=after)

        async def mark(rows: list[asyncpg.Record], futures: list[asyncio.Future], before: asyncio.Task | None) -> None:
            if before is not None:
                await before  # in order: a batch is marked only after the one before it
            await asyncio.gather(*futures)
            async with marks:
                await self._settle(mark_conn, rows, [])

        total = 0
        reading: asyncio.Task | None = asyncio.ensure_future(read(0))
        marking: asyncio.Task | None = None
        try:
            while reading is not None:
                if marking is not None and marking.done():
                    marking.result()  # an acknowledgement or a mark failed: stop sending more behind it
                rows = await reading
                reading = None
                if not rows:
                    break
                if len(rows) >= self.settings.relay_batch_size:
                    reading = asyncio.ensure_future(read(rows[-1]["id"]))
                futures = await self._send(producer, rows)
                marking = asyncio.ensure_future(mark(rows, futures, marking))
                total += len(rows)
            if marking is not None:
                await marking
        finally:
            for task in (reading, marking):
                if task is not None and not task.done():
                    task.cancel()
                    with contextlib.suppress(BaseException):
                        await task
        return total

    async def _unsent(self, conn: asyncpg.Connection, *, after: int) -> list[asyncpg.Record]:
        # Pick the ids first: with stale statistics after a burst, the planner would otherwise
        # render and sort every unsent row to return a batch of them.
        return await conn.fetch(
            f"SELECT o.id, o.event_id::text AS event_id, o.event_type, o.payload->>'source' AS source, o.topic, "
            f"convert_to(o.key, 'UTF8') AS key, convert_to(o.payload::text, 'UTF8') AS payload, "
            f"o.headers->>'traceparent' AS traceparent, NULLIF(o.headers - 'traceparent', '{{}}'::jsonb)::text AS headers "
            f"FROM {self.schema}.outbox o WHERE o.id IN "
            f"(SELECT id FROM {self.schema}.outbox WHERE sent_at IS NULL AND id > $2 ORDER BY id LIMIT $1) ORDER BY o.id",
            self.settings.relay_batch_size,
            after,
        )

    async def _send(self, producer: AIOKafkaProducer, rows: list[asyncpg.Record]) -> list[asyncio.Future]:
        # Key and payload arrive as UTF-8 bytes, sent as they are; headers other than traceparent are rare.
        futures = []
        for row in rows:
            headers = kafka_headers(row["event_id"], row["event_type"], row["source"], row["traceparent"])
            if row["headers"] is not None:
                headers.extend((k, str(v).encode()) for k, v in json.loads(row["headers"]).items())
            futures.append(await producer.send(row["topic"], value=row["payload"], key=row["key"], headers=headers))
        return futures

    async def _settle(self, conn: asyncpg.Connection, rows: list[asyncpg.Record], futures: list[asyncio.Future]) -> None:
        """Wait for every acknowledgement of ``rows``, then mark them sent."""
        await asyncio.gather(*futures)
        await self.mark_sent(conn, [r["id"] for r in rows])
        for topic, n in Counter(row["topic"] for row in rows).items():
            metrics.EVENTS_PUBLISHED.labels(self.settings.service_name, topic).inc(n)

    async def mark_sent(self, conn: asyncpg.Connection, ids: list[int]) -> None:
        await conn.execute(
            f"UPDATE {self.schema}.outbox SET sent_at = now(), publish_count = publish_count + 1 WHERE id = ANY($1::bigint[])",
            ids,
        )

    async def _update_gauges(self, conn: asyncpg.Connection) -> None:
        now = time.monotonic()
        if now - self._last_gauge < 1.0:
            return
        self._last_gauge = now
        row = await conn.fetchrow(
            f"SELECT count(*) AS n, EXTRACT(EPOCH FROM now() - min(created_at)) AS age "
            f"FROM {self.schema}.outbox WHERE sent_at IS NULL"
        )
        metrics.OUTBOX_BACKLOG.labels(self.settings.service_name).set(row["n"])
        metrics.OUTBOX_OLDEST_AGE.labels(self.settings.service_name).set(float(row["age"] or 0))


async def republish_since(settings: ServiceSettings, since: datetime) -> int:
    """Mark every outbox row created at or after ``since`` unsent, so the relay publishes it again.

    Consumers' inboxes make the repeats harmless; this is how ops refill a broker that lost its data.
    """
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        async with conn.transaction():
            status = await conn.execute(f"UPDATE {settings.db_schema}.outbox SET sent_at = NULL WHERE created_at >= $1", since)
            await conn.execute("SELECT pg_notify($1, '')", settings.outbox_channel)
        return int(status.split()[-1])
    finally:
        await conn.close()


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _wait_any(wake: asyncio.Event, stop: asyncio.Event, timeout: float) -> None:
    waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
