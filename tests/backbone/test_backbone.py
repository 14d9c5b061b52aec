"""The event backbone against real PostgreSQL and a real Kafka-protocol broker:
at-least-once on the wire, exactly-once in effect."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select

from opc_shared.consumer import list_dead_letters, replay_dead_letter
from opc_shared.contracts import FirmRegisteredV1, topics
from opc_shared.events import build_event
from opc_shared.relay import OutboxRelay
from subsidy.adapters.tables import accounts

from .conftest import Backbone, Recorder, eventually

pytestmark = pytest.mark.faults


async def accounts_for(bb: Backbone, firm_ids: list[uuid.UUID]) -> int:
    async with bb.subsidy.sessionmaker() as session:
        return (
            await session.execute(select(func.count()).select_from(accounts).where(accounts.c.firm_id.in_(firm_ids)))
        ).scalar_one()


async def inbox_count(bb: Backbone, event_ids: list[str]) -> int:
    inbox = bb.subsidy.platform.inbox
    async with bb.subsidy.sessionmaker() as session:
        query = select(func.count()).select_from(inbox).where(inbox.c.event_id.in_(event_ids))
        return (await session.execute(query)).scalar_one()


async def test_redelivered_event_has_one_effect(backbone: Backbone) -> None:
    firm_id = uuid.uuid4()
    event = build_event(
        event_type=FirmRegisteredV1.event_type,
        source="/opc/registry",
        subject=str(firm_id),
        data=FirmRegisteredV1(
            firm_id=firm_id, name="重复投递", district="wuhou", founder_name="甲", registered_at="2026-11-01T00:00:00Z"
        ).payload(),
    )
    producer = AIOKafkaProducer(bootstrap_servers=backbone.broker.bootstrap)
    await producer.start()
    try:
        for _ in range(3):  # the same record three times, as a retrying producer would
            await producer.send_and_wait(topics.REGISTRY, event.to_bytes(), key=str(firm_id).encode())
    finally:
        await producer.stop()
    recorder = Recorder()
    runner = backbone.start_consumer(recorder)
    await eventually(lambda: _caught_up(runner), what="three deliveries consumed")
    assert recorder.calls[event.id] == 1
    assert await inbox_count(backbone, [event.id]) == 1
    assert await accounts_for(backbone, [firm_id]) == 1


async def _caught_up(runner) -> bool:
    """The consumer has committed up to the end of every partition it has seen data on."""
    consumer = runner.consumer
    if consumer is None or not consumer.assignment():
        return False
    seen = 0
    for tp in consumer.assignment():
        high = consumer.highwater(tp) or 0
        if (await consumer.committed(tp) or 0) < high:
            return False
        seen += high
    return seen > 0


async def test_events_written_while_broker_down_are_all_delivered_once(backbone: Backbone) -> None:
    recorder = Recorder()
    runner = backbone.start_consumer(recorder)
    relay, _ = backbone.start_relay()
    # Wait for a joined consumer and a leading relay, but consume nothing yet: the embedded broker
    # restarts at offset 0, so a position already past 0 would skip records a real broker would keep.
    await eventually(
        lambda: _async(bool(runner.consumer and runner.consumer.assignment()) and relay.is_leader), what="consumer and relay up"
    )

    backbone.broker.stop()
    during = await backbone.publish_firms([f"outage-{i}" for i in range(40)])
    await asyncio.sleep(1.5)  # the relay keeps failing and backing off meanwhile
    assert await backbone.unsent(during) == 40, "nothing may be marked sent while the broker is down"

    backbone.broker.start()  # an empty broker, as after a real outage with data loss
    from opc_devstack.infra import TOPICS
    from opc_shared.kafka import ensure_topics

    await ensure_topics(backbone.broker.bootstrap, TOPICS)
    await eventually(lambda: _async(all(recorder.calls[e] >= 1 for e in during)), timeout=120, what="all outage events applied")
    assert all(recorder.calls[e] == 1 for e in during)
    assert await backbone.unsent(during) == 0
    assert await inbox_count(backbone, during) == 40
    assert relay.is_leader


async def _async(value: bool) -> bool:
    return value


class CrashAfterPublish(OutboxRelay):
    """Dies after the broker acknowledged the batch but before marking it sent, once."""

    crashed = False

    async def mark_sent(self, conn, ids) -> None:
        if not CrashAfterPublish.crashed:
            CrashAfterPublish.crashed = True
            raise asyncpg.InterfaceError("simulated crash between publish and mark-sent")
        await super().mark_sent(conn, ids)


async def test_relay_crash_between_publish_and_mark_sent_duplicates_on_wire_but_not_in_effect(backbone: Backbone) -> None:
    event_ids = await backbone.publish_firms([f"crash-{i}" for i in range(10)])
    CrashAfterPublish.crashed = False
    backbone.start_relay(CrashAfterPublish(backbone.registry_settings))
    await eventually(lambda: _async(CrashAfterPublish.crashed), what="the crash")
    await eventually(lambda: _unsent_is_zero(backbone, event_ids), what="rows marked sent after restart")

    on_wire = Counter(json.loads(r.value)["id"] for r in await backbone.records_on_topic())
    assert all(on_wire[e] == 2 for e in event_ids), "each event went out twice: once before the crash, once after"

    recorder = Recorder()
    backbone.start_consumer(recorder)
    await eventually(lambda: _async(all(recorder.calls[e] == 1 for e in event_ids)), what="events applied")
    await asyncio.sleep(0.5)
    assert all(recorder.calls[e] == 1 for e in event_ids)
    assert await inbox_count(backbone, event_ids) == 10


async def _unsent_is_zero(bb: Backbone, ids: list[str]) -> bool:
    return await bb.unsent(ids) == 0


async def test_poison_event_goes_to_dead_letters_and_later_events_still_flow(backbone: Backbone) -> None:
    firm_id = uuid.uuid4()  # one key, so all land on one partition behind the poison
    producer = AIOKafkaProducer(bootstrap_servers=backbone.broker.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topics.REGISTRY, b"{not json at all", key=str(firm_id).encode())
    finally:
        await producer.stop()
    poison_ids = await backbone.publish_firms(["POISON"], firm_id=firm_id)
    good_ids = await backbone.publish_firms([f"good-{i}" for i in range(5)], firm_id=firm_id)
    recorder = Recorder(fail_when=lambda d: d.name == "POISON")
    backbone.start_relay()
    backbone.start_consumer(recorder)
    await eventually(lambda: _async(all(recorder.calls[e] == 1 for e in good_ids)), what="events behind the poison applied")

    letters = [d for d in await list_dead_letters(backbone.subsidy, limit=1000) if d["key"] == str(firm_id)]
    by_kind = {("POISON" in (d["raw_value"] or "")): d for d in letters}
    assert len(letters) == 2
    assert "not a valid CloudEvent" in by_kind[False]["error"]
    assert by_kind[True]["event_id"] == poison_ids[0]
    assert "handler cannot process POISON" in by_kind[True]["error"]
    assert by_kind[True]["attempts"] == 3
    assert recorder.calls[poison_ids[0]] == 0

    # After a fix, ops replay it: applied once, and a second replay changes nothing.
    fixed = Recorder()
    assert await replay_dead_letter(backbone.subsidy, fixed.handlers, by_kind[True]["id"]) == "applied"
    assert await replay_dead_letter(backbone.subsidy, fixed.handlers, by_kind[True]["id"]) == "already_replayed"
    assert fixed.calls[poison_ids[0]] == 1
    assert await inbox_count(backbone, poison_ids) == 1


async def test_one_firms_events_are_applied_in_order(backbone: Backbone) -> None:
    firm_id = uuid.uuid4()
    names = [f"seq-{i:03d}" for i in range(60)]
    recorder = Recorder()
    backbone.start_consumer(recorder)
    backbone.start_relay()
    # Interleave with other firms' events so ordering is tested across partitions too.
    for chunk in range(0, 60, 10):
        await backbone.publish_firms(names[chunk : chunk + 10], firm_id=firm_id)
        await backbone.publish_firms([f"other-{chunk}-{i}" for i in range(5)])
    await eventually(lambda: _async(sum(1 for n in recorder.names if n.startswith("seq-")) == 60), what="all sequenced events")
    assert [n for n in recorder.names if n.startswith("seq-")] == names


async def test_with_two_relays_only_one_publishes(backbone: Backbone) -> None:
    relays = [backbone.start_relay(OutboxRelay(backbone.registry_settings)) for _ in range(2)]
    await eventually(lambda: _async(any(r.is_leader for r, _ in relays)), what="a leader")
    await asyncio.sleep(0.5)
    assert sum(r.is_leader for r, _ in relays) == 1
    event_ids = await backbone.publish_firms([f"two-relays-{i}" for i in range(30)])
    await eventually(lambda: _unsent_is_zero(backbone, event_ids), what="all published")
    on_wire = Counter(json.loads(r.value)["id"] for r in await backbone.records_on_topic())
    assert all(on_wire[e] == 1 for e in event_ids)

    # The standby takes over when the leader stops, and publishes what follows.
    (_, leader_stop), (standby, _) = sorted(relays, key=lambda pair: not pair[0].is_leader)
    standby.lock_retry_s = 0.1
    leader_stop.set()
    await eventually(lambda: _async(standby.is_leader), timeout=10, what="standby takes over")
    more = await backbone.publish_firms(["after-takeover"])
    await eventually(lambda: _unsent_is_zero(backbone, more), what="published by the new leader")


async def test_a_service_role_cannot_read_another_services_schema(infra) -> None:
    if infra.pg is None:
        pytest.skip("role isolation is provisioned by the embedded stack; external databases are provisioned by ops")
    from opc_shared.db import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(infra.urls["registry"]))
    try:
        assert await conn.fetchval("SELECT count(*) >= 0 FROM registry.outbox")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("SELECT * FROM subsidy.accounts LIMIT 1")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE public.sneaky (id int)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE SCHEMA sneaky")
    finally:
        await conn.close()


async def test_outbox_replay_republishes_and_consumers_ignore_the_repeats(backbone: Backbone) -> None:
    from datetime import UTC, datetime, timedelta

    from opc_shared.relay import republish_since

    recorder = Recorder()
    backbone.start_consumer(recorder)
    backbone.start_relay()
    since = datetime.now(UTC) - timedelta(milliseconds=1)
    event_ids = await backbone.publish_firms([f"replayed-{i}" for i in range(5)])
    await eventually(lambda: _async(all(recorder.calls[e] == 1 for e in event_ids)), what="first delivery")
    assert await republish_since(backbone.registry_settings, since) >= 5
    await eventually(lambda: _unsent_is_zero(backbone, event_ids), what="re-published")
    on_wire = Counter(json.loads(r.value)["id"] for r in await backbone.records_on_topic())
    assert all(on_wire[e] == 2 for e in event_ids)
    await asyncio.sleep(0.5)
    assert all(recorder.calls[e] == 1 for e in event_ids)


def test_ops_commands_run_against_the_real_database(infra) -> None:
    import subprocess
    import sys

    env = infra.env()
    listed = subprocess.run(
        [sys.executable, "-m", "subsidy", "dead-letters", "list", "--all"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert isinstance(json.loads(listed.stdout), list)
    replay = subprocess.run(
        [sys.executable, "-m", "registry", "outbox-replay", "--since", "2999-01-01T00:00:00+00:00"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "0 outbox events" in replay.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "subsidy", "dead-letters", "replay", "999999999"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode != 0 and "no dead letter 999999999" in missing.stderr


async def test_the_relay_sets_cloudevents_headers_that_the_dead_letter_path_reads(backbone: Backbone) -> None:
    import dataclasses

    event_ids = await backbone.publish_firms(["有头信息"])
    backbone.start_relay()
    await eventually(lambda: _unsent_is_zero(backbone, event_ids), what="published")
    (record,) = [r for r in await backbone.records_on_topic() if json.loads(r.value)["id"] == event_ids[0]]
    headers = {k: v.decode() for k, v in record.headers}
    assert headers["ce_id"] == event_ids[0]
    assert headers["ce_type"] == FirmRegisteredV1.event_type
    assert headers["ce_source"] == "/opc/registry"
    assert headers["ce_specversion"] == "1.0"
    assert headers["content-type"].startswith("application/cloudevents+json")

    # A value mangled on the way is dead-lettered under the id and type its headers still carry.
    from opc_shared.consumer import ConsumerRunner

    runner = ConsumerRunner(backbone.subsidy, Recorder().handlers, (topics.REGISTRY,), group_id="unused")
    mangled = dataclasses.replace(record, value=record.value[:-7])
    assert (await runner.handle_record(mangled)).status == "dead_lettered"
    (letter,) = [d for d in await list_dead_letters(backbone.subsidy, limit=1000) if d["event_id"] == event_ids[0]]
    assert letter["event_type"] == FirmRegisteredV1.event_type
    assert "not a valid CloudEvent" in letter["error"]


async def test_a_busy_consumer_commits_offsets_at_most_every_interval_and_at_once_when_quiet(backbone: Backbone) -> None:
    """Offsets follow the database commit, but a busy stream is not a broker round trip per poll: at most
    one commit every ``consumer_commit_interval_ms``; once the stream goes quiet, and when the consumer
    stops, everything applied is committed."""
    from opc_shared.consumer import ConsumerRunner
    from opc_shared.db import Database
    from subsidy.adapters.tables import metadata as subsidy_metadata

    settings = backbone.subsidy_settings.model_copy(
        update={"consumer_commit_interval_ms": 400, "kafka_busy_fetch_interval_ms": 20}
    )
    db = Database(settings, subsidy_metadata)
    recorder = Recorder()
    runner = ConsumerRunner(db, recorder.handlers, (topics.REGISTRY,), group_id=f"test-{uuid.uuid4().hex[:8]}")
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    commits: list[dict] = []
    try:
        await eventually(lambda: _async(bool(runner.consumer and runner.consumer.assignment())), what="consumer joined")
        consumer = runner.consumer
        real_commit = consumer.commit

        async def counted(offsets=None):
            commits.append(dict(offsets or {}))
            return await real_commit(offsets)

        consumer.commit = counted
        backbone.start_relay()
        ids: list[str] = []
        started = asyncio.get_running_loop().time()
        for i in range(12):  # ~1.2 s of a steady stream, one commit each 100 ms
            ids += await backbone.publish_firms([f"节流{i}"])
            await asyncio.sleep(0.1)
        await eventually(lambda: _async(all(recorder.calls[e] == 1 for e in ids)), what="all applied")
        busy_s = asyncio.get_running_loop().time() - started
        await eventually(lambda: _caught_up(runner), what="offsets committed once quiet")
        assert len(commits) <= busy_s / 0.4 + 3, f"{len(commits)} commits in {busy_s:.1f}s"
        more = await backbone.publish_firms(["最后一家"])
        await eventually(lambda: _async(recorder.calls[more[0]] == 1), what="last applied")
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
        await db.dispose()
    # stopped: what was applied is committed (a new consumer of the group starts after it)
    from opc_shared.kafka import make_consumer

    check = make_consumer(backbone.subsidy_settings, (topics.REGISTRY,), group_id=runner.group_id)
    await check.start()
    try:
        await eventually(lambda: _async(bool(check.assignment())), what="probe joined")
        for tp in check.assignment():
            assert (await check.committed(tp) or 0) == (await check.end_offsets([tp]))[tp]
    finally:
        await check.stop()
