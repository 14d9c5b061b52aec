"""The session of a read-only unit of work (a GET), and its short way to the database.

A GET runs its statements on one pooled connection in autocommit, checked out at the first statement
and returned when the unit of work ends; there is no ORM session around it (the services map no
classes): an :class:`~sqlalchemy.ext.asyncio.AsyncSession`'s bookkeeping, begun and closed for every
read, cost about as much CPU as the query it carried.

A SELECT SQLAlchemy has already run once is then run on the driver directly. SQLAlchemy still compiles
it (its statement cache, the same compiled object and bind parameter processing) and still describes
its rows (the result metadata it cached on the compiled object at the first run: keys, column objects,
type processors), but the execution context, DBAPI cursor emulation, cursor result and the greenlet
hop around each statement are skipped: that machinery was about a quarter of a read's CPU. Whatever
this path does not handle goes SQLAlchemy's own way: another kind of statement, parameters to expand
(``IN`` lists), statement execution options, engine events or echo, a first run; and a statement that
fails here is run again SQLAlchemy's way, so errors (wrapped as :class:`sqlalchemy.exc.DBAPIError`,
dead connections invalidated) are exactly SQLAlchemy's. A SELECT has no effect to repeat.
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Select, TextClause
from sqlalchemy.engine import Result
from sqlalchemy.engine.result import IteratorResult
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import compiler


class _ReadResult(IteratorResult[Any]):
    """The rows of a SELECT, with the one cursor attribute reads use."""

    def __init__(self, metadata: Any, rows: list[tuple[Any, ...]]) -> None:
        super().__init__(metadata, iter(rows))
        self.rowcount = len(rows)


_STATEMENT_EVENTS = ("before_execute", "after_execute", "before_cursor_execute", "after_cursor_execute")


def _watches_statements(engine: Any) -> bool:
    """Whether someone listens to the engine's statements (a test counting queries, a tracer): they
    see every statement only SQLAlchemy's way. (An autocommit engine has an ``engine_connect``
    listener of its own, which this path does not bypass.)"""
    dispatch = engine.dispatch
    return any(getattr(dispatch, name) for name in _STATEMENT_EVENTS)


def _driver_args(compiled: Any, params: dict[str, Any] | None, extracted: Any, collected: Any) -> list[Any]:
    """A compiled statement's positional arguments for the driver, processed as SQLAlchemy processes them."""
    if params:
        values = compiled.construct_params(
            params, escape_names=False, _group_number=0, extracted_parameters=extracted, _collected_params=collected
        )
    else:
        values = compiled.construct_params(escape_names=False, extracted_parameters=extracted, _collected_params=collected)
    processors = compiled._bind_processors
    return [processors[key](values[key]) if key in processors else values[key] for key in compiled.positiontup]


class KeptConnections:
    """A few of the pool's connections kept checked out, in autocommit, from one read to the next.

    Checking a connection out of SQLAlchemy's pool and in again (its proxy, the pool's events, the
    isolation level set and reset, a greenlet hop each way) cost ~150 µs of CPU, about a tenth of a read
    by key, where this list costs a microsecond. At most ``keep`` connections are kept, the freshest
    used first; one that sat unused for more than ``idle_s`` is checked with one round trip before its
    next use, as the pool does (:func:`opc_shared.db.ping_when_idle`), so a database restart is
    noticed as before; one SQLAlchemy invalidated after an error is never kept. ``keep = 0`` keeps none."""

    def __init__(self, engine: AsyncEngine, *, keep: int, idle_s: float) -> None:
        self.engine, self.keep, self.idle_s = engine, keep, idle_s
        self._idle: list[tuple[AsyncConnection, Any, float]] = []

    async def take(self) -> tuple[AsyncConnection, Any]:
        """A kept connection and its driver (or None, not looked up yet), else one from the pool."""
        now = time.monotonic()
        while self._idle:
            connection, driver, since = self._idle.pop()
            if connection.invalidated or connection.closed:
                await connection.close()
                continue
            if now - since > self.idle_s:
                try:  # as the pool checks a connection that sat idle: one round trip, before use
                    await connection.exec_driver_sql("SELECT 1")
                except DBAPIError:
                    await connection.close()  # invalidated by the failure: the pool opens a new one
                    continue
            return connection, driver
        return await self.engine.connect(), None

    async def give_back(self, connection: AsyncConnection, driver: Any) -> None:
        if len(self._idle) >= self.keep or connection.invalidated or connection.closed:
            await connection.close()
            return
        if connection.in_transaction():
            await connection.rollback()  # SQLAlchemy's own autobegun transaction; nothing on the database
        self._idle.append((connection, driver, time.monotonic()))

    @property
    def kept(self) -> int:
        return len(self._idle)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection, _, _ in idle:
            await connection.close()


class ReadSession:
    """See the module: ``execute`` (the only session method the services' reads use), ``bind``, and
    no-op ``commit``/``rollback`` (each statement was committed as it ran)."""

    def __init__(self, engine: AsyncEngine, kept: KeptConnections) -> None:
        self.bind = engine
        self._kept = kept
        self._connection: AsyncConnection | None = None
        self._driver: Any = None

    async def execute(self, statement: Any, params: Any = None, **kwargs: Any) -> Result[Any]:
        if self._connection is None:
            self._connection, self._driver = await self._kept.take()
        if kwargs or not (params is None or type(params) is dict):
            return await self._connection.execute(statement, params, **kwargs)
        compiled = self._compiled(statement, params)
        if compiled is None:
            return await self._connection.execute(statement, params)
        result = await self._execute_directly(statement, params, *compiled)
        if result is not None:
            return result
        result = await self._connection.execute(statement, params)
        if compiled[0]._cached_metadata is None and result.returns_rows:
            # A textual SELECT: SQLAlchemy describes its rows anew each run; keep this run's description
            # with the column names it was made for (a later run checks the names still match).
            compiled[0]._opc_read_metadata = (tuple(result.keys()), result._metadata)
        return result

    async def write_once(self, statement: TextClause, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """A textual write (one statement, atomic by itself in autocommit) and the rows it returns, as tuples.

        Run on the driver directly, as a SELECT that ran once is (the same compiled statement and parameter
        processing: the execution context, cursor result and greenlet hop around a statement are skipped,
        ~0.5 ms of CPU for a statement carrying a 1,000-row batch), or SQLAlchemy's way where that path
        does not apply (statement listeners, echo). Unlike a SELECT it is never run a second time: a write
        may have taken effect before its answer was lost. A failure is raised as SQLAlchemy raises it (a
        :class:`~sqlalchemy.exc.DBAPIError` of the driver's error, the connection invalidated when dead)."""
        if self._connection is None:
            self._connection, self._driver = await self._kept.take()
        compiled = self._compiled(statement, params, write=True)
        if compiled is None:
            return [tuple(row) for row in await self._connection.execute(statement, params)]
        first, extracted, collected, _ = compiled
        args = _driver_args(first, params, extracted, collected)
        dialect = self.bind.sync_engine.dialect
        driver = await self._driver_connection()
        try:
            async with driver._execute_mutex:
                prepared, _ = await driver._prepare(first.string, dialect._invalidate_schema_cache_asof)
                rows = await prepared.fetch(*args)
        except Exception as exc:  # raised again below, as SQLAlchemy would raise it
            try:
                driver._handle_exception(exc)  # the driver's error as the DBAPI error SQLAlchemy wraps
            except Exception as adapted:  # noqa: BLE001 - it raises the adapted error, whatever its class
                error = adapted
            disconnected = dialect.is_disconnect(error, driver, None)
            if disconnected:
                await self._connection.invalidate()
            raise DBAPIError.instance(
                first.string, args, error, dialect.loaded_dbapi.Error, connection_invalidated=disconnected, dialect=dialect
            ) from exc
        return [tuple(row) for row in rows]

    def _compiled(
        self, statement: Any, params: dict[str, Any] | None, *, write: bool = False
    ) -> tuple[Any, Any, Any, Any] | None:
        """SQLAlchemy's compiled statement (from its cache) if this path may run it, else None."""
        if not isinstance(statement, (Select, TextClause)) or statement._execution_options:
            return None
        if not write and isinstance(statement, TextClause) and statement.text.lstrip()[:6].upper() != "SELECT":
            return None  # a textual write runs SQLAlchemy's way, or through write_once
        sync_engine = self.bind.sync_engine
        if sync_engine.echo or _watches_statements(sync_engine):
            return None
        dialect = sync_engine.dialect
        compiled = statement._compile_w_cache(
            dialect=dialect,
            compiled_cache=sync_engine._compiled_cache,
            column_keys=sorted(params) if params else [],
            for_executemany=False,
            schema_translate_map=None,
            linting=dialect.compiler_linting | compiler.WARN_LINTING,
        )
        first = compiled[0]
        if not first.positional or first.literal_execute_params or first.post_compile_params or first.schema_translate_map:
            return None
        return compiled

    async def _execute_directly(
        self, statement: Any, params: dict[str, Any] | None, compiled: Any, extracted: Any, collected: Any, cache_hit: Any
    ) -> Result[Any] | None:
        """The statement run on the driver, or None: then SQLAlchemy runs it (see the module)."""
        assert self._connection is not None
        metadata = compiled._cached_metadata
        names = None
        if metadata is None:
            names, metadata = getattr(compiled, "_opc_read_metadata", (None, None))
            if metadata is None:
                return None  # not run yet: SQLAlchemy's first run describes the rows
        args = _driver_args(compiled, params, extracted, collected)
        dialect = self.bind.sync_engine.dialect
        if compiled._result_columns and cache_hit is dialect.CACHE_HIT and compiled.statement is not statement:
            # As CursorResult does: the invoked statement's own column objects find their values too (a
            # table's columns are the same objects in every statement: nothing to add for them).
            keymap = metadata._keymap
            if any(selected not in keymap for selected in statement._all_selected_columns):
                metadata = metadata._adapt_to_context(SimpleNamespace(compiled=compiled, invoked_statement=statement))
        driver = await self._driver_connection()
        try:
            async with driver._execute_mutex:
                prepared, attributes = await driver._prepare(compiled.string, dialect._invalidate_schema_cache_asof)
                if names is not None and tuple(attribute.name for attribute in attributes) != names:
                    return None
                rows = await prepared.fetch(*args)
        except Exception:  # noqa: BLE001 - SQLAlchemy runs it again and raises (and cleans up) its own way
            return None
        return _ReadResult(metadata, [tuple(row) for row in rows])

    async def _driver_connection(self) -> Any:
        """The adapted driver connection under this session's connection (looked up once per checkout)."""
        assert self._connection is not None
        if self._driver is None:
            self._driver = (await self._connection.get_raw_connection()).dbapi_connection
        return self._driver

    async def commit(self) -> None:
        """Nothing to do: every statement was committed as it ran."""

    async def rollback(self) -> None:
        """Nothing to undo, for the same reason: a write through a read session is not atomic (see
        :meth:`opc_shared.db.Database.uow`)."""

    async def close(self) -> None:
        connection, driver, self._connection, self._driver = self._connection, self._driver, None, None
        if connection is not None:
            await self._kept.give_back(connection, driver)
