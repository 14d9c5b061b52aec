"""Async SQLAlchemy engine and the unit of work whose commit writes collected events to the outbox."""

from __future__ import annotations

import math
import time
import uuid
from collections import Counter
from types import TracebackType
from typing import Any, Self, TypeVar

from sqlalchemy import MetaData, insert, select
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Result
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from opc_shared.aggregate import Aggregate
from opc_shared.contracts import CATALOGUE
from opc_shared.contracts.base import EventContract
from opc_shared.events import CloudEvent, build_event
from opc_shared.readcache import ReadCache
from opc_shared.reads import KeptConnections, ReadSession
from opc_shared.settings import ServiceSettings
from opc_shared.tables import PlatformTables
from opc_shared.tracing import child_traceparent, current_traceparent

AggregateT = TypeVar("AggregateT", bound=Aggregate)


def create_engine(settings: ServiceSettings, **overrides: object) -> AsyncEngine:
    options: dict[str, object] = {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "connect_args": {"server_settings": {"application_name": f"opc-{settings.service_name}"}},
    }
    options.update(overrides)
    engine = create_async_engine(settings.database_url, **options)
    if settings.db_pool_pre_ping and "pool_pre_ping" not in overrides:
        ping_when_idle(engine, settings.db_pool_ping_idle_s)
    return engine


def ping_when_idle(engine: AsyncEngine, idle_s: float) -> None:
    """Check a pooled connection before use only if it sat unused for more than ``idle_s``.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout, and with asyncpg a ping is three round
    trips (BEGIN, an empty query, ROLLBACK): more than a whole read by primary key. A connection used
    a moment ago cannot have missed a database restart that went unnoticed by the request that used
    it, so only connections idle for longer are checked; a failed check makes the pool open a new one.
    """
    pool = engine.sync_engine.pool

    @sa_event.listens_for(pool, "checkin")
    def _returned(dbapi_connection: Any, record: Any) -> None:
        record.info["opc_idle_since"] = time.monotonic()

    @sa_event.listens_for(pool, "checkout")
    def _taken(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("opc_idle_since")
        if since is None or time.monotonic() - since <= idle_s:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:  # any failure: the pool discards this connection and opens another
            raise DisconnectionError(f"pooled connection failed its check: {exc}") from exc


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    """The same URL in the form asyncpg.connect() takes (for LISTEN and advisory-lock connections)."""
    from sqlalchemy.engine import make_url

    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


class Database:
    """What a service needs to reach its schema: engine, sessions, and its platform tables."""

    def __init__(self, settings: ServiceSettings, metadata: MetaData, engine: AsyncEngine | None = None) -> None:
        self.settings = settings
        self.metadata = metadata
        self.engine = engine or create_engine(settings)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        #: The pool's connections in autocommit: reads run without BEGIN/COMMIT, two round trips fewer.
        self.read_engine = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        #: At most a quarter of what the pool may open, so writers never wait behind idle kept connections.
        keep = min(settings.db_read_connections_kept, (settings.db_pool_size + settings.db_max_overflow) // 4)
        idle_s = settings.db_pool_ping_idle_s if settings.db_pool_pre_ping else math.inf
        self.read_connections = KeptConnections(self.read_engine, keep=keep, idle_s=idle_s)
        self.platform = PlatformTables(metadata)
        #: Rarely changing answers (catalogues) kept for a moment: see :mod:`opc_shared.readcache`.
        self.read_cache = ReadCache()

    def uow(self, *, read_only: bool = False) -> UnitOfWork:
        """``read_only``: no explicit transaction, each statement sees what is committed when it runs (as
        READ COMMITTED gives inside one); for requests that only read. A write made through it is committed
        statement by statement, so whatever must be atomic uses a normal unit of work."""
        return UnitOfWork(self, read_only=read_only)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(select(1))

    async def dispose(self) -> None:
        await self.read_connections.close()
        await self.engine.dispose()


def dicts(result: Result[Any]) -> list[dict[str, Any]]:
    """Every row of ``result`` as a dict.

    ``dict(zip(keys, row))`` costs about a quarter of ``dict(row)`` over ``result.mappings()`` (1.1 µs
    against 3.8 µs for a 14-column row), which a 50-row page pays 50 times: that pattern was a quarter
    of the registry's queue request. Columns named twice keep the mappings' refusal (ambiguous name)."""
    keys = list(result.keys())
    if len(set(keys)) != len(keys):
        return [dict(row) for row in result.mappings()]
    return [dict(zip(keys, row, strict=True)) for row in result]


class ReadOnlyWork(RuntimeError):
    """Events were published through a unit of work that has no transaction to keep them atomic."""


class UnregisteredEvent(TypeError):
    """Only catalogued contracts are published: the catalogue is what consumers and schemas know."""


def catalogued_event(contract: EventContract, *, service_name: str, traceparent: str | None = None) -> CloudEvent:
    """The envelope a service publishes ``contract`` in; only catalogued contracts are published."""
    if CATALOGUE.get(contract.event_type) is not type(contract):
        raise UnregisteredEvent(f"{type(contract).__qualname__} ({contract.event_type}) is not in opc_shared.contracts.CATALOGUE")
    return build_event(
        event_type=contract.event_type,
        source=f"/opc/{service_name}",
        subject=contract.subject,
        data=contract.payload(),
        traceparent=child_traceparent(traceparent or current_traceparent.get()),
    )


def outbox_row(event: CloudEvent, topic: str) -> dict[str, Any]:
    """The outbox row of a (numbered) event: keyed by its subject, the envelope as the payload."""
    return {
        "event_id": uuid.UUID(event.id),
        "event_type": event.type,
        "topic": topic,
        "key": event.subject,
        "payload": event.model_dump(mode="json", exclude_none=True),
        "headers": {"traceparent": event.traceparent} if event.traceparent else {},
    }


class UnitOfWork:
    """One database transaction. The events of every aggregate handed to :meth:`track`
    (and any queued with :meth:`publish`) are written to the outbox by :meth:`commit` in the
    same transaction; the outbox's insert trigger NOTIFYs the relay, which Postgres delivers
    only if the transaction commits."""

    def __init__(self, db: Database, *, read_only: bool = False) -> None:
        self._db = db
        self.read_only = read_only
        self._session: AsyncSession | ReadSession | None = None
        self._events: list[tuple[CloudEvent, str]] = []
        self._seen: list[Aggregate] = []
        self._committed = False
        #: Per-transaction memo for repositories (e.g. a calendar read once per request).
        self.memo: dict[object, object] = {}

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        session = self._session
        if session is None:
            return  # nothing ran through it: nothing to roll back or close
        try:
            if not self._committed:
                await session.rollback()
        finally:
            await session.close()

    @property
    def session(self) -> AsyncSession | ReadSession:
        """Made at first use: a unit of work that never touches the database (a webhook whose one statement
        runs in autocommit, a request refused before any query) costs no session, commit or close (each a
        greenlet hop through SQLAlchemy, ~0.1 ms)."""
        if self._session is None:
            db = self._db
            self._session = ReadSession(db.read_engine, db.read_connections) if self.read_only else db.sessionmaker()
        return self._session

    @property
    def db(self) -> Database:
        return self._db

    def work(self) -> Work:
        """This transaction as handed to code that runs inside it but does not own it."""
        return Work(self)

    def publish(self, contract: EventContract, *, traceparent: str | None = None) -> CloudEvent:
        event = catalogued_event(contract, service_name=self._db.settings.service_name, traceparent=traceparent)
        self._events.append((event, contract.topic))
        return event

    def track(self, aggregate: AggregateT) -> AggregateT:
        """Repositories call this for every aggregate they load or add; commit drains its events."""
        if not any(seen is aggregate for seen in self._seen):
            self._seen.append(aggregate)
        return aggregate

    def collect_events(self) -> None:
        """Move the tracked aggregates' recorded events into this unit of work's queue."""
        for aggregate in self._seen:
            for contract in aggregate.pull_events():
                self.publish(contract)

    @property
    def pending_events(self) -> list[CloudEvent]:
        self.collect_events()
        return [event for event, _ in self._events]

    async def commit(self) -> None:
        self.collect_events()
        if self._events and self.read_only:
            raise ReadOnlyWork(
                f"a read-only unit of work (a GET) cannot publish {self._events[0][0].type}: events need one transaction"
            )
        if self._events:
            await self._number_by_subject()
            outbox = self._db.platform.outbox
            await self.session.execute(insert(outbox), [outbox_row(e, topic) for e, topic in self._events])
        if self._session is not None:
            await self._session.commit()
        self._committed = True
        self._events.clear()
        self.memo.clear()

    async def _number_by_subject(self) -> None:
        """Give each event the next number of its subject (``subjectseq``), in publish order.

        The subject's counter row stays locked until this transaction ends, so numbers follow
        commit order, and the outbox rows (numbered after the lock) follow it too. Subjects are
        locked in sorted order, so two transactions touching the same subjects cannot deadlock."""
        counts = Counter(event.subject for event, _ in self._events)
        table = self._db.platform.subject_sequences
        upsert = pg_insert(table).values([{"subject": s, "last_seq": n} for s, n in sorted(counts.items())])
        upsert = upsert.on_conflict_do_update(
            index_elements=[table.c.subject], set_={"last_seq": table.c.last_seq + upsert.excluded.last_seq}
        ).returning(table.c.subject, table.c.last_seq)
        last = {subject: seq for subject, seq in (await self.session.execute(upsert)).all()}
        following = {subject: last[subject] - n + 1 for subject, n in counts.items()}
        numbered = []
        for event, topic in self._events:
            numbered.append((event.model_copy(update={"subjectseq": following[event.subject]}), topic))
            following[event.subject] += 1
        self._events = numbered

    async def rollback(self) -> None:
        if self._session is not None:
            await self._session.rollback()
        self._events.clear()
        for aggregate in self._seen:
            aggregate.events.clear()
        self._seen.clear()
        self.memo.clear()


class GuardedSession:
    """Someone else's session: everything but ending the transaction.

    A consumer's handlers and an idempotent request's work run inside a transaction that
    also holds bookkeeping (inbox rows, the idempotency key); committing or rolling back
    half-way would make that bookkeeping durable without the rest of the work."""

    _ENDS_TRANSACTION = frozenset({"commit", "rollback", "close", "begin", "invalidate", "reset", "connection", "sync_session"})

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def __getattr__(self, name: str) -> Any:
        if name in self._ENDS_TRANSACTION:
            raise AttributeError(f"{name}() is not yours to call: the owner of the unit of work commits or rolls back")
        return getattr(self._session, name)


class Work:
    """A unit of work as seen by code running inside it: its session (guarded) and its events."""

    _OWNER_ONLY = frozenset({"commit", "rollback"})

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._session: GuardedSession | None = None

    @property
    def session(self) -> GuardedSession:
        if self._session is None:  # the unit of work's session is made at first use, not when the work is handed out
            self._session = GuardedSession(self._uow.session)
        return self._session

    @property
    def db(self) -> Database:
        return self._uow.db

    def publish(self, contract: EventContract, *, traceparent: str | None = None) -> CloudEvent:
        return self._uow.publish(contract, traceparent=traceparent)

    def work(self) -> Work:
        return self

    def __getattr__(self, name: str) -> Any:
        if name in self._OWNER_ONLY or name.startswith("_"):
            raise AttributeError(f"{name} is not yours to call: the owner of the unit of work commits or rolls back")
        return getattr(self._uow, name)
