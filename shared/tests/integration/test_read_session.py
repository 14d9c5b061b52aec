"""A GET's statements on the driver give what SQLAlchemy gives (rows, keys, types, column lookups, errors),
and whatever the short way does not handle still runs SQLAlchemy's way, against the real PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic_settings import SettingsConfigDict
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    MetaData,
    Numeric,
    Table,
    Text,
    Uuid,
    event,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError

from opc_shared.db import Database
from opc_shared.settings import ServiceSettings


class SubsidySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="OPC_SUBSIDY_", extra="ignore")


ID = uuid.UUID("7b0c6a9e-4a51-4f0e-9d0b-2f6f8a1c3e55")
AT = datetime(2026, 11, 3, 8, 30, tzinfo=UTC)
ROWS = [
    (ID, "武侯", AT, date(2026, 11, 3), Decimal("12.50"), 2**40, True, ["a", "b"], {"k": [1, "二"]}),
    (uuid.uuid4(), None, None, None, None, None, None, [], None),
]
#: A temporary table (one pooled connection, so every unit of work sees it): typed columns, cacheable statements.
TABLE = Table(
    "read_session_rows",
    MetaData(),
    Column("id", Uuid, primary_key=True),
    Column("name", Text),
    Column("at", DateTime(timezone=True)),
    Column("day", Date),
    Column("rate", Numeric),
    Column("big", BigInteger),
    Column("ok", Boolean),
    Column("tags", ARRAY(Text)),
    Column("doc", JSONB),
    prefixes=["TEMPORARY"],
)


def statements(name: str) -> list[Any]:
    """Fresh statement objects each call, as routes build them."""
    return [
        select(TABLE).where(TABLE.c.name == name),
        select(TABLE.c.id, TABLE.c.rate, func.coalesce(TABLE.c.name, "?").label("shown")).order_by(TABLE.c.big),
        select(literal({"k": [1, "二"]}, JSONB).label("doc"), literal(AT).label("at")),
        text("SELECT x AS n, x::text AS s, ARRAY[x, x] AS pair FROM generate_series(1, :upto) AS x ORDER BY x").bindparams(
            upto=3
        ),
        text("SELECT r FROM (VALUES (1, 'a'), (2, 'b')) AS r(n, s) ORDER BY n"),
    ]


def shape(result: Any) -> tuple[list[str], list[tuple], int]:
    rows = result.all()
    return list(result.keys()), [tuple(row) for row in rows], len(rows)


@pytest.fixture
async def db(infra):
    database = Database(SubsidySettings(db_pool_size=1, db_max_overflow=0), MetaData())
    async with database.engine.begin() as conn:
        await conn.run_sync(TABLE.metadata.create_all)
        await conn.execute(insert(TABLE), [dict(zip(TABLE.c.keys(), row, strict=True)) for row in ROWS])
    yield database
    await database.dispose()


async def test_rows_keys_and_types_are_sqlalchemys(db: Database) -> None:
    expected = []
    async with db.engine.connect() as conn:  # SQLAlchemy's own way, for reference
        for statement in statements("武侯"):
            expected.append(shape(await conn.execute(statement)))
    for _ in range(3):  # the first run is SQLAlchemy's, the next ones the driver's
        async with db.uow(read_only=True) as uow:
            got = [shape(await uow.session.execute(statement)) for statement in statements("武侯")]
        assert got == expected
    async with db.uow(read_only=True) as uow:
        row = (await uow.session.execute(statements("武侯")[0])).one()
        assert (row.id, row.at, row.rate, row.tags, row.doc) == (ID, AT, Decimal("12.50"), ["a", "b"], {"k": [1, "二"]})
        fresh = statements("武侯")[0]
        mapped = (await uow.session.execute(fresh)).mappings().one()
        assert mapped[fresh.selected_columns.id] == ID
        fresh = statements("武侯")[1]
        first = (await uow.session.execute(fresh)).mappings().first()
        assert first[fresh.selected_columns.shown] == "武侯", "a new statement's own expressions find their values"
        assert (await uow.session.execute(statements("nobody")[0])).first() is None
        result = await uow.session.execute(statements("武侯")[1])
        assert result.rowcount == 2 and [s for s in result.scalars()] == [ID, ROWS[1][0]], "NULL sorts last"
        params = await uow.session.execute(text("SELECT CAST(:a AS int) + CAST(:b AS int) AS total"), {"a": 2, "b": 3})
        assert params.scalar_one() == 5


class Counting:
    """The session's connection, counting the statements that go SQLAlchemy's way."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.calls = 0

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return await self.connection.execute(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.connection, name)


async def test_the_driver_runs_a_select_after_its_first_run(db: Database) -> None:
    async with db.uow(read_only=True) as uow:
        session = uow.session
        for statement in statements("武侯"):
            await session.execute(statement)
        counting = session._connection = Counting(session._connection)
        for statement in statements("武侯"):
            await session.execute(statement)
        assert counting.calls == 0, "no statement went SQLAlchemy's way the second time"
        ids = (await session.execute(select(TABLE.c.id).where(TABLE.c.id.in_([ID])))).scalars().all()
        assert ids == [ID] and counting.calls == 1, "an IN list to expand goes SQLAlchemy's way"
        session._connection = counting.connection


async def test_statement_listeners_see_every_statement(db: Database) -> None:
    seen: list[str] = []
    event.listen(db.engine.sync_engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    async with db.uow(read_only=True) as uow:
        for _ in range(3):
            await uow.session.execute(text("SELECT 1"))
    assert len(seen) == 3


async def test_errors_are_sqlalchemys_and_the_connection_stays_usable(db: Database) -> None:
    divide = text("SELECT 1 / :d AS q")
    async with db.engine.connect() as conn:
        with pytest.raises(DBAPIError) as reference:
            await conn.execute(divide, {"d": 0})
    async with db.uow(read_only=True) as uow:
        for _ in range(2):
            await uow.session.execute(divide, {"d": 1})
        with pytest.raises(DBAPIError) as refused:
            await uow.session.execute(divide, {"d": 0})
        assert type(refused.value) is type(reference.value)
        assert type(refused.value.orig) is type(reference.value.orig)
        assert "division by zero" in str(refused.value)
        assert (await uow.session.execute(divide, {"d": 1})).scalar_one() == 1


async def test_a_write_runs_once_on_the_driver_and_fails_as_sqlalchemy_fails(db: Database) -> None:
    # nextval is not undone by a failing statement: it counts how many times the write ran (the division
    # reads the sequence's value, so it fails when the statement runs, not when it is planned)
    async with db.engine.begin() as conn:
        await conn.execute(text("CREATE SEQUENCE IF NOT EXISTS write_once_runs"))
    write = text(
        "WITH run AS (SELECT nextval('write_once_runs') AS n) "
        "INSERT INTO read_session_rows (id, name, big) "
        "SELECT CAST(:id AS uuid), :name, 10 / (CAST(:d AS int) + run.n * 0) FROM run "
        "RETURNING name, big"
    )
    async with db.engine.connect() as conn:
        with pytest.raises(DBAPIError) as reference:
            await conn.execute(write, {"id": uuid.uuid4(), "name": "x", "d": 0})
    async with db.uow(read_only=True) as uow:
        session = uow.session
        counting = session._connection = Counting(await session.bind.connect())
        assert await session.write_once(write, {"id": uuid.uuid4(), "name": "一", "d": 2}) == [("一", 5)]
        assert counting.calls == 0, "on the driver, not SQLAlchemy's way"
        before = (await session.execute(text("SELECT last_value FROM write_once_runs"))).scalar_one()
        with pytest.raises(DBAPIError) as refused:
            await session.write_once(write, {"id": uuid.uuid4(), "name": "二", "d": 0})
        assert type(refused.value) is type(reference.value) and type(refused.value.orig) is type(reference.value.orig)
        assert "division by zero" in str(refused.value)
        assert (await session.execute(text("SELECT last_value FROM write_once_runs"))).scalar_one() == before + 1, (
            "run once, not again after its failure"
        )
        with pytest.raises(DBAPIError):  # a key taken: the driver's unique violation, as SQLAlchemy raises it
            await session.write_once(write, {"id": ID, "name": "三", "d": 1})
        assert await session.write_once(write, {"id": uuid.uuid4(), "name": "四", "d": 5}) == [("四", 2)]
        names = (await session.execute(text("SELECT name FROM read_session_rows WHERE big IN (2, 5) ORDER BY name"))).scalars()
        assert list(names) == ["一", "四"], "committed as it ran; nothing of the failed writes"
        await counting.connection.close()
        session._connection = None
