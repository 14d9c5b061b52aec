"""aiokafka client construction in one place, so every producer and consumer is configured alike."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from opc_shared.settings import ServiceSettings


def make_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    # No idempotent producer: the embedded broker lacks it and the design does not need it;
    # duplicates on the wire are absorbed by every consumer's inbox.
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_servers,
        client_id=settings.kafka_client_id or f"opc-{settings.service_name}-relay",
        acks="all",
        enable_idempotence=False,
        linger_ms=0,
        request_timeout_ms=10_000,
        retry_backoff_ms=200,
    )


def make_consumer(settings: ServiceSettings, topics: tuple[str, ...], group_id: str | None = None) -> AIOKafkaConsumer:
    return PacedConsumer(
        *topics,
        idle_fetch_wait_ms=settings.kafka_idle_fetch_wait_ms,
        busy_fetch_interval_ms=settings.kafka_busy_fetch_interval_ms,
        bootstrap_servers=settings.kafka_servers,
        client_id=settings.kafka_client_id or f"opc-{settings.service_name}-consumer",
        group_id=group_id or settings.consumer_group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
        max_poll_records=500,
        session_timeout_ms=10_000,
        heartbeat_interval_ms=1_000,
    )


class PacedConsumer(AIOKafkaConsumer):
    """An aiokafka consumer that does not spin while its partitions are quiet.

    aiokafka sends the next fetch as soon as the previous one returns and relies on the broker's long
    poll to pace it. Kafka holds an empty fetch up to ``fetch.max.wait.ms``; noida 0.2.3 answers it at
    once (measured: ~4,000 fetches/s and 65 % of a core for one idle consumer) and Tansu answers only
    after the full wait (so the dev stack keeps that wait at 5 ms). After each empty answer the pacer
    doubles a wait ``w`` (1 ms … ``idle_fetch_wait_ms``), holds the next fetch until ``w`` has passed
    and asks the broker to wait ``max(fetch.max.wait.ms, w)``; the first fetch that brings records
    resets ``w`` to 0. A quiet stream costs a few fetches a second; against Kafka (500 ms long poll) the
    idle pacing changes nothing.

    A busy stream is fetched at most every ``busy_fetch_interval_ms``: a fetch that brought records is
    followed by the next one only that long after it started. Fetched back to back, a stream of 1,000
    events/s comes one or two records a fetch, and every poll pays the consumer's fixed cost (fetch,
    transaction, inbox insert, offset commit) for them; spaced out, a poll carries what landed in the
    interval. The records of a fetch are handed over as soon as it returns: the interval delays only
    the next fetch.
    """

    def __init__(self, *topics: str, idle_fetch_wait_ms: int = 250, busy_fetch_interval_ms: int = 0, **kwargs: Any) -> None:
        super().__init__(*topics, **kwargs)
        self._busy_wait_ms = int(kwargs.get("fetch_max_wait_ms", 500))
        self._idle_cap_s = idle_fetch_wait_ms / 1000
        self._busy_interval_s = busy_fetch_interval_ms / 1000
        self.idle_wait_s = 0.0

    async def start(self) -> None:
        await super().start()
        fetcher = self._fetcher
        fetch = fetcher._proc_fetch_request  # aiokafka 0.14 (pinned): returns True when records arrived
        loop = asyncio.get_running_loop()

        async def paced_fetch(assignment: Any, node_id: int, request: Any) -> bool:
            started = loop.time()
            got_records = await fetch(assignment, node_id, request)
            if got_records or self._idle_cap_s <= 0:
                self.idle_wait_s = 0.0
                spacing = self._busy_interval_s if got_records else 0.0
            else:
                self.idle_wait_s = min(self._idle_cap_s, max(2 * self.idle_wait_s, 0.001))
                spacing = self.idle_wait_s
            remaining = spacing - (loop.time() - started)
            if remaining > 0:
                if got_records:  # hand the records over now; aiokafka would only after this task returns
                    for waiter in list(fetcher._fetch_waiters):
                        fetcher._notify(waiter)
                try:
                    await asyncio.sleep(remaining)
                except asyncio.CancelledError:  # closing or unassigned: like aiokafka's own fetch task
                    return False
            fetcher._fetch_max_wait_ms = max(self._busy_wait_ms, int(self.idle_wait_s * 1000))
            return got_records

        fetcher._proc_fetch_request = paced_fetch


async def ensure_topics(bootstrap_servers: list[str] | str, topics: dict[str, int]) -> None:
    """Create topics with the intended partition counts; existing topics are left alone."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(name, num_partitions=n, replication_factor=1) for name, n in topics.items() if name not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
    finally:
        await admin.close()
