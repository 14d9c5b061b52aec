"""aiokafka client construction in one place, so every producer and consumer is configured alike."""

from __future__ import annotations

import contextlib

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
    return AIOKafkaConsumer(
        *topics,
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
