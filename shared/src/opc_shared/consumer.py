"""Inbox consumer: Kafka → handler, exactly once in effect.

Each event is applied and its id recorded in the inbox in one database transaction; a
redelivered event finds its id and does nothing. Offsets are committed only after the
database commit. A failing event is retried a bounded number of times, then written to the
dead-letter table with its raw bytes and the error, and the partition moves on. Database
outages are not the event's fault: those pause the partition and retry without counting.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from pydantic import ValidationError
from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from opc_shared import metrics
from opc_shared.contracts.base import EventContract
from opc_shared.db import Database, UnitOfWork, Work
from opc_shared.events import CloudEvent
from opc_shared.kafka import make_consumer
from opc_shared.tracing import current_traceparent

log = structlog.get_logger("opc.consumer")

#: A handler works inside the consumer's transaction (which also holds the inbox row) and cannot end it.
Handler = Callable[[Work, CloudEvent, Any], Awaitable[None]]
#: A run of consecutive events of one type, in the order they arrived, with their contracts.
Run = list[tuple[CloudEvent, Any]]


class Batched:
    """A handler that applies a run of consecutive events of its type in one go (one multi-row statement
    instead of one per event). When a poll brings several events of the type in a row, the consumer
    hands them over together, in the order they came; alone (one event, retries, dead-letter replay) it
    is called with a run of one. The run's effects must equal those of its events applied one by one
    in that order: one subject may appear twice in a run.

    Events a batched handler publishes carry the trace of the run's first event."""

    def __init__(self, many: Callable[[Work, Run], Awaitable[None]]) -> None:
        self.many = many
        self.__name__ = getattr(many, "__name__", "batched")

    async def __call__(self, work: Work, event: CloudEvent, data: Any) -> None:
        await self.many(work, [(event, data)])


def runs_of(items: Sequence[tuple[CloudEvent, Any]]) -> list[Run]:
    """``items`` cut into runs of consecutive events of one type, order kept."""
    runs: list[Run] = []
    for event, data in items:
        if runs and runs[-1][0][0].type == event.type:
            runs[-1].append((event, data))
        else:
            runs.append([(event, data)])
    return runs


class PermanentError(Exception):
    """An event that can never succeed (malformed, unknown contract): dead-letter at once."""


class InboxMismatch(RuntimeError):
    """What a batch recorded in the inbox differs from what it applied: a bug, never skipped."""


class InfrastructureDown(Exception):
    """The database is unreachable: do not blame the event, retry it later."""


@dataclass(frozen=True)
class Outcome:
    status: str  # applied | duplicate | ignored | dead_lettered


def is_infrastructure_error(exc: BaseException) -> bool:
    if isinstance(exc, (OSError, ConnectionError, asyncio.TimeoutError, InterfaceError, OperationalError)):
        return True
    return bool(isinstance(exc, DBAPIError) and exc.connection_invalidated)


class EventApplier:
    """Applies one raw event through the inbox; shared by the consumer loop and dead-letter replay."""

    def __init__(self, db: Database, handlers: Mapping[type[EventContract], Handler]) -> None:
        self.db = db
        self.contracts = {contract.event_type: contract for contract in handlers}
        self.handlers = {contract.event_type: handler for contract, handler in handlers.items()}
        inbox = db.platform.inbox
        # Built once, executed with a list of rows (one multi-row INSERT): compiled once, not per poll.
        self._record_many = pg_insert(inbox).on_conflict_do_nothing().returning(inbox.c.source, inbox.c.event_id)

    def decode(self, raw: bytes | None) -> tuple[CloudEvent, EventContract | None]:
        if raw is None:
            raise PermanentError("empty record value")
        try:
            event = CloudEvent.from_bytes(raw)
        except ValidationError as exc:
            raise PermanentError(f"not a valid CloudEvent: {exc}") from exc
        contract = self.contracts.get(event.type)
        if contract is None:
            return event, None
        try:
            data = contract.model_validate(event.data)
        except ValidationError as exc:
            raise PermanentError(f"payload breaks contract {event.type}: {exc}") from exc
        return event, data

    async def apply(self, event: CloudEvent, data: EventContract, topic: str) -> Outcome:
        inbox = self.db.platform.inbox
        async with self.db.uow() as uow:
            recorded = await uow.session.execute(
                pg_insert(inbox)
                .values(**inbox_row(event, topic))
                .on_conflict_do_nothing()
                .returning(inbox.c.source, inbox.c.event_id)
            )
            if recorded.first() is None:
                return Outcome("duplicate")
            await self._run_handler(uow, event, data)
            await uow.commit()
        return Outcome("applied")

    async def apply_many(self, items: list[tuple[CloudEvent, EventContract, str]]) -> list[Outcome]:
        """Apply a run of events in one transaction: one commit instead of one per event.

        All or nothing: if any handler fails, nothing is kept and the caller falls back to
        applying the events one by one (with retries and dead letters). Every inbox row this
        transaction writes must be matched by exactly one applied event, or nothing is kept."""
        async with self.db.uow() as uow:
            inserted = await uow.session.execute(self._record_many, [inbox_row(event, topic) for event, _, topic in items])
            fresh = {(source, event_id) for source, event_id in inserted.all()}
            applied: set[tuple[str, str]] = set()
            outcomes = []
            to_apply: list[tuple[CloudEvent, EventContract]] = []
            for event, data, _ in items:
                key = inbox_key(event)
                if key not in fresh or key in applied:  # seen before, or twice in this batch: applies once
                    outcomes.append(Outcome("duplicate"))
                    continue
                applied.add(key)
                to_apply.append((event, data))
                outcomes.append(Outcome("applied"))
            for run in runs_of(to_apply):
                handler = self.handlers[run[0][0].type]
                if isinstance(handler, Batched) and len(run) > 1:
                    await self._run_batched(uow, handler, run)
                else:
                    for event, data in run:
                        await self._run_handler(uow, event, data)
            if applied != fresh:
                raise InboxMismatch(f"inbox rows written for {sorted(fresh - applied)} were not applied")
            await uow.commit()
        return outcomes

    async def _run_batched(self, uow: UnitOfWork, handler: Batched, run: Run) -> None:
        token = current_traceparent.set(run[0][0].traceparent)
        try:
            await handler.many(uow.work(), run)
        finally:
            current_traceparent.reset(token)

    async def _run_handler(self, uow: UnitOfWork, event: CloudEvent, data: EventContract) -> None:
        token = current_traceparent.set(event.traceparent)
        try:
            await self.handlers[event.type](uow.work(), event, data)
        finally:
            current_traceparent.reset(token)


async def newest_for_subject(work: Work, event: CloudEvent, state: str) -> bool:
    """True if ``event`` is newer, for its subject, than every event applied before to ``state``;
    it then becomes the newest. A handler that overwrites per-subject state (a firm's status,
    say) asks this first, so a late or replayed older event cannot overwrite what a newer one
    set. Additive effects (a history row, an invoice) need no guard: the inbox keeps them single.

    ``state`` names the piece of state guarded: each has its own position, because one subject's
    newer event of another kind says nothing about this one. An event without ``subjectseq``
    (from a producer that does not number its events) cannot be judged and counts as newest."""
    if event.subjectseq is None:
        return True
    table = work.db.platform.subject_positions
    row = {"source": event.source, "subject": event.subject, "state": state, "seq": event.subjectseq, "event_id": event.id}
    upsert = pg_insert(table).values(row)
    upsert = upsert.on_conflict_do_update(
        index_elements=[table.c.source, table.c.subject, table.c.state],
        set_={"seq": upsert.excluded.seq, "event_id": upsert.excluded.event_id, "updated_at": func.now()},
        where=table.c.seq < upsert.excluded.seq,
    ).returning(table.c.seq)
    return (await work.session.execute(upsert)).first() is not None


def newest_only(state: str, handler: Handler) -> Handler:
    """``handler`` applied only to events newer than any applied before for their subject and ``state``."""

    async def guarded(work: Work, event: CloudEvent, data: Any) -> None:
        if await newest_for_subject(work, event, state):
            await handler(work, event, data)
        else:
            log.info("consumer.older_event_skipped", event_id=event.id, subject=event.subject, state=state, seq=event.subjectseq)

    return guarded


def inbox_key(event: CloudEvent) -> tuple[str, str]:
    """An event's identity as CloudEvents defines it: ``id`` is unique per ``source``, as sent."""
    return event.source, event.id


def inbox_row(event: CloudEvent, topic: str) -> dict[str, str]:
    source, event_id = inbox_key(event)
    return {"source": source, "event_id": event_id, "event_type": event.type, "source_topic": topic}


class ConsumerRunner:
    def __init__(
        self,
        db: Database,
        handlers: Mapping[type[EventContract], Handler],
        topics: tuple[str, ...],
        *,
        group_id: str | None = None,
    ) -> None:
        self.db = db
        self.settings = db.settings
        self.applier = EventApplier(db, handlers)
        self.topics = topics
        self.group_id = group_id or self.settings.consumer_group
        self.max_attempts = self.settings.consumer_max_attempts
        self.retry_base_s = self.settings.consumer_retry_base_s
        self.consumer: AIOKafkaConsumer | None = None
        self.started = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 0.2
        while not stop.is_set():
            consumer = make_consumer(self.settings, self.topics, self.group_id)
            try:
                await consumer.start()
            except KafkaError as exc:
                log.warning("consumer.broker_unavailable", error=repr(exc), retry_in_s=backoff)
                with contextlib.suppress(Exception):
                    await consumer.stop()
                await _sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, self.settings.relay_max_backoff_s)
                continue
            backoff = 0.2
            self.consumer = consumer
            self.started.set()
            try:
                await self._loop(consumer, stop)
            except Exception:  # uncommitted offsets are re-read after the restart; the inbox absorbs repeats
                log.exception("consumer.unexpected_error")
                await _sleep_or_stop(stop, self.settings.relay_max_backoff_s)
            finally:
                self.consumer = None
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(consumer.stop(), 10)

    async def _loop(self, consumer: AIOKafkaConsumer, stop: asyncio.Event) -> None:
        """Poll, apply, and mark what is durable: offsets are committed after the database commit, at most
        every ``consumer_commit_interval_ms`` while records keep coming, at once when a poll comes back
        empty, and on the way out. A crash in between only means records re-read: the inbox absorbs them."""
        loop = asyncio.get_running_loop()
        interval = self.settings.consumer_commit_interval_ms / 1000
        pending: dict[TopicPartition, int] = {}
        committed_at = loop.time()
        try:
            while not stop.is_set():
                try:
                    wait_ms = max(1, int(interval * 1000)) if pending else 1000
                    batches = await consumer.getmany(timeout_ms=wait_ms, max_records=500)  # returns as soon as records arrive
                except KafkaError as exc:
                    log.warning("consumer.fetch_failed", error=repr(exc))
                    await _sleep_or_stop(stop, 0.5)
                    continue
                done = await self._apply_poll(consumer, batches, stop)
                if done is None:
                    done = {}
                    for tp, records in batches.items():
                        last = await self._process_partition(consumer, tp, records, stop)
                        if last is not None:
                            done[tp] = last + 1
                        self._record_lag(consumer, tp, done.get(tp))
                pending.update(done)
                if pending and (not batches or loop.time() - committed_at >= interval):
                    await self._commit(consumer, pending)
                    pending, committed_at = {}, loop.time()
        finally:
            if pending:
                await self._commit(consumer, pending)

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        try:
            await consumer.commit(offsets)  # one round trip for every partition
        except (CommitFailedError, KafkaError) as exc:
            # A rebalance took partitions away; the new owner re-reads and the inbox absorbs it.
            log.warning("consumer.commit_failed", partitions=[tp.partition for tp in offsets], error=repr(exc))

    async def _apply_poll(
        self, consumer: AIOKafkaConsumer, batches: dict[TopicPartition, list[ConsumerRecord]], stop: asyncio.Event
    ) -> dict[TopicPartition, int] | None:
        """The whole poll in one transaction; the offsets it made durable, or None: take the careful path."""
        records = [r for recs in batches.values() for r in recs]
        if len(batches) < 2 or len(records) < 2:
            return None
        try:
            if not await self._apply_batch(records):
                return None
        except InfrastructureDown as exc:
            log.warning("consumer.database_down", error=str(exc))
            for tp, recs in batches.items():
                consumer.seek(tp, recs[0].offset)
            await _sleep_or_stop(stop, 1.0)
            return {}
        offsets = {tp: recs[-1].offset + 1 for tp, recs in batches.items()}
        for tp, offset in offsets.items():
            self._record_lag(consumer, tp, offset)
        return offsets

    async def _process_partition(
        self, consumer: AIOKafkaConsumer, tp: TopicPartition, records: list[ConsumerRecord], stop: asyncio.Event
    ) -> int | None:
        """Process records in order; return the last offset whose effect is durable."""
        if len(records) > 1:
            try:
                if await self._apply_batch(records):
                    return records[-1].offset
            except InfrastructureDown as exc:
                log.warning("consumer.database_down", error=str(exc), offset=records[0].offset)
                consumer.seek(tp, records[0].offset)
                await _sleep_or_stop(stop, 1.0)
                return None
        last_done: int | None = None
        for record in records:
            if stop.is_set():
                break
            try:
                await self.handle_record(record)
            except InfrastructureDown as exc:
                log.warning("consumer.database_down", error=str(exc), offset=record.offset)
                consumer.seek(tp, record.offset)
                await _sleep_or_stop(stop, 1.0)
                break
            last_done = record.offset
        return last_done

    async def _apply_batch(self, records: list[ConsumerRecord]) -> bool:
        """The fast path for a healthy stream; False sends the batch down the per-record path."""
        items = []
        for record in records:
            try:
                event, data = self.applier.decode(record.value)
            except PermanentError:
                return False
            if data is not None:
                items.append((event, data, record.topic))
        try:
            outcomes = await self.applier.apply_many(items) if items else []
        except Exception as exc:  # any failure: redo one by one, with retries
            if is_infrastructure_error(exc):
                raise InfrastructureDown(str(exc)) from exc
            if isinstance(exc, InboxMismatch):  # nothing was kept; the careful path records and applies one by one
                log.error("consumer.inbox_mismatch", size=len(records), error=str(exc))
            else:
                log.info("consumer.batch_fallback", size=len(records), error=f"{type(exc).__name__}: {exc}")
            return False
        for (event, _, _), outcome in zip(items, outcomes, strict=True):
            metrics.EVENTS_CONSUMED.labels(self.settings.service_name, event.type, outcome.status).inc()
        return True

    async def handle_record(self, record: ConsumerRecord) -> Outcome:
        try:
            event, data = self.applier.decode(record.value)
        except PermanentError as exc:
            return await self._dead_letter(record, None, str(exc), attempts=1)
        if data is None:
            metrics.EVENTS_CONSUMED.labels(self.settings.service_name, event.type, "ignored").inc()
            return Outcome("ignored")
        last_error = ""
        for attempt in range(1, self.max_attempts + 1):
            try:
                outcome = await self.applier.apply(event, data, record.topic)
                metrics.EVENTS_CONSUMED.labels(self.settings.service_name, event.type, outcome.status).inc()
                return outcome
            except Exception as exc:
                if is_infrastructure_error(exc):
                    raise InfrastructureDown(str(exc)) from exc
                last_error = f"{type(exc).__name__}: {exc}"
                log.warning("consumer.handler_failed", event_id=event.id, type=event.type, attempt=attempt, error=last_error)
                if attempt < self.max_attempts:
                    await asyncio.sleep(self.retry_base_s * (2 ** (attempt - 1)))
        return await self._dead_letter(record, event, last_error, attempts=self.max_attempts)

    async def _dead_letter(self, record: ConsumerRecord, event: CloudEvent | None, error: str, attempts: int) -> Outcome:
        headers = {k: v.decode(errors="replace") for k, v in (record.headers or ())}
        event_type = event.type if event else headers.get("ce_type")
        try:
            async with self.db.sessionmaker() as session, session.begin():
                await session.execute(
                    insert(self.db.platform.dead_letters).values(
                        event_id=(event.id if event else headers.get("ce_id") or "")[:200] or None,
                        event_type=event_type,
                        topic=record.topic,
                        partition=record.partition,
                        offset=record.offset,
                        key=record.key,
                        raw_value=record.value,
                        headers=headers,
                        error=error[:10_000],
                        attempts=attempts,
                    )
                )
        except Exception as exc:
            if is_infrastructure_error(exc):
                raise InfrastructureDown(str(exc)) from exc
            raise
        metrics.DEAD_LETTERS.labels(self.settings.service_name, event_type or "unknown").inc()
        metrics.EVENTS_CONSUMED.labels(self.settings.service_name, event_type or "unknown", "dead_lettered").inc()
        log.error(
            "consumer.dead_lettered",
            event_type=event_type,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            error=error[:500],
        )
        return Outcome("dead_lettered")

    def _record_lag(self, consumer: AIOKafkaConsumer, tp: TopicPartition, next_offset: int | None) -> None:
        high = consumer.highwater(tp)
        if high is not None and next_offset is not None:
            metrics.CONSUMER_LAG.labels(self.settings.service_name, tp.topic, str(tp.partition)).set(max(0, high - next_offset))


async def list_dead_letters(db: Database, *, include_replayed: bool = False, limit: int = 100) -> list[dict[str, Any]]:
    dl = db.platform.dead_letters
    query = select(dl).order_by(dl.c.id).limit(limit)
    if not include_replayed:
        query = query.where(dl.c.replayed_at.is_(None))
    async with db.sessionmaker() as session:
        rows = (await session.execute(query)).mappings().all()
    out = []
    for row in rows:
        item = {k: v for k, v in row.items() if k not in ("raw_value", "key")}
        item["key"] = row["key"].decode(errors="replace") if row["key"] else None
        item["raw_value"] = row["raw_value"].decode(errors="replace") if row["raw_value"] else None
        out.append(item)
    return out


async def replay_dead_letter(db: Database, handlers: Mapping[type[EventContract], Handler], dead_letter_id: int) -> str:
    """Apply a dead-lettered event again (after a fix); the inbox keeps it single in effect."""
    dl = db.platform.dead_letters
    async with db.sessionmaker() as session:
        row = (await session.execute(select(dl).where(dl.c.id == dead_letter_id))).mappings().first()
    if row is None:
        raise LookupError(f"no dead letter {dead_letter_id}")
    if row["replayed_at"] is not None:
        return "already_replayed"
    applier = EventApplier(db, handlers)
    try:
        event, data = applier.decode(row["raw_value"])
        outcome = Outcome("ignored") if data is None else await applier.apply(event, data, row["topic"])
    except Exception as exc:  # noqa: BLE001 - recorded for ops, then re-raised as a plain result
        async with db.sessionmaker() as session, session.begin():
            await session.execute(update(dl).where(dl.c.id == dead_letter_id).values(replay_error=f"{type(exc).__name__}: {exc}"))
        return f"failed: {type(exc).__name__}: {exc}"
    async with db.sessionmaker() as session, session.begin():
        await session.execute(update(dl).where(dl.c.id == dead_letter_id).values(replayed_at=func.now(), replay_error=None))
    return outcome.status


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def dumps(obj: Any) -> str:
    return json.dumps(obj, default=str, ensure_ascii=False, indent=2)
