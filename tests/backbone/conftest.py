"""Fixtures for the backbone tests: registry publishes through its real outbox and relay,
subsidy consumes through its real inbox consumer, on a broker each test owns."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from opc_devstack.infra import TOPICS, EmbeddedBroker
from opc_shared.consumer import ConsumerRunner
from opc_shared.contracts import FirmRegisteredV1, topics
from opc_shared.db import Database
from opc_shared.kafka import ensure_topics
from opc_shared.relay import OutboxRelay
from registry.adapters.tables import metadata as registry_metadata
from registry.settings import RegistrySettings
from subsidy.adapters.tables import metadata as subsidy_metadata
from subsidy.service.accounts import open_for_registered_firm
from subsidy.settings import SubsidySettings


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} not reached within {timeout}s")


class Recorder:
    """Wraps subsidy's real effect and counts how often the handler actually ran per event."""

    def __init__(self, fail_when: Callable[[FirmRegisteredV1], bool] | None = None) -> None:
        self.calls: Counter[str] = Counter()
        self.names: list[str] = []
        self.fail_when = fail_when

    async def handle(self, uow, event, data: FirmRegisteredV1) -> None:
        if self.fail_when and self.fail_when(data):
            raise ValueError(f"handler cannot process {data.name}")
        await open_for_registered_firm(uow, data)
        self.calls[event.id] += 1
        self.names.append(data.name)

    @property
    def handlers(self) -> dict:
        return {FirmRegisteredV1: self.handle}


class Backbone:
    def __init__(self, broker: EmbeddedBroker) -> None:
        self.broker = broker
        self.registry_settings = RegistrySettings(kafka_bootstrap_servers=broker.bootstrap, relay_poll_interval_s=30)
        self.subsidy_settings = SubsidySettings(
            kafka_bootstrap_servers=broker.bootstrap, consumer_max_attempts=3, consumer_retry_base_s=0.01
        )
        self.registry = Database(self.registry_settings, registry_metadata)
        self.subsidy = Database(self.subsidy_settings, subsidy_metadata)
        self._stops: list[asyncio.Event] = []
        self._tasks: list[asyncio.Task] = []

    async def publish_firms(self, names: list[str], *, firm_id: uuid.UUID | None = None) -> list[str]:
        """One transaction per firm, as the registry does; returns the event ids."""
        ids = []
        for name in names:
            async with self.registry.uow() as uow:
                event = uow.publish(
                    FirmRegisteredV1(
                        firm_id=firm_id or uuid.uuid4(),
                        name=name,
                        district="wuhou",
                        community=None,
                        founder_name="测试",
                        registered_at=datetime.now(UTC),
                    )
                )
                await uow.commit()
            ids.append(event.id)
        return ids

    def start_relay(self, relay: OutboxRelay | None = None) -> tuple[OutboxRelay, asyncio.Event]:
        relay = relay or OutboxRelay(self.registry_settings)
        stop = asyncio.Event()
        self._stops.append(stop)
        self._tasks.append(asyncio.create_task(relay.run(stop)))
        return relay, stop

    def start_consumer(self, recorder: Recorder, group: str | None = None) -> ConsumerRunner:
        runner = ConsumerRunner(
            self.subsidy, recorder.handlers, (topics.REGISTRY,), group_id=group or f"test-{uuid.uuid4().hex[:8]}"
        )
        stop = asyncio.Event()
        self._stops.append(stop)
        self._tasks.append(asyncio.create_task(runner.run(stop)))
        return runner

    async def unsent(self, event_ids: list[str]) -> int:
        async with self.registry.sessionmaker() as session:
            outbox = self.registry.platform.outbox
            rows = await session.execute(
                outbox.select().where(outbox.c.event_id.in_([uuid.UUID(i) for i in event_ids]), outbox.c.sent_at.is_(None))
            )
            return len(rows.all())

    async def records_on_topic(self, topic: str = topics.REGISTRY) -> list:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.broker.bootstrap, enable_auto_commit=False, group_id=None)
        await consumer.start()
        try:
            partitions = [TopicPartition(topic, p) for p in range(TOPICS[topic])]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            records = []
            remaining = {tp for tp in partitions if ends[tp] > 0}
            while remaining:
                for tp, batch in (await consumer.getmany(timeout_ms=500)).items():
                    records.extend(batch)
                    if batch[-1].offset + 1 >= ends[tp]:
                        remaining.discard(tp)
            return records
        finally:
            await consumer.stop()

    async def close(self) -> None:
        for stop in self._stops:
            stop.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, 20)
        await self.registry.dispose()
        await self.subsidy.dispose()


@pytest.fixture
async def backbone(infra, private_broker: EmbeddedBroker) -> AsyncIterator[Backbone]:
    await ensure_topics(private_broker.bootstrap, TOPICS)
    bb = Backbone(private_broker)
    try:
        yield bb
    finally:
        await bb.close()
