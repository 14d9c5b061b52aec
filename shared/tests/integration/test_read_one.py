"""``read_one`` reuses one built statement per caller: every caller still sees exactly their own rows,
whatever order callers come in, with and without a row lock, against the real PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from pydantic_settings import SettingsConfigDict
from sqlalchemy import Column, MetaData, Table, Text, Uuid, insert, select, text

from opc_shared import scoping
from opc_shared.auth import Principal
from opc_shared.db import Database
from opc_shared.errors import NotFound
from opc_shared.scoping import Scope, read_one
from opc_shared.settings import ServiceSettings


class LedgerSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="OPC_COMPUTE_LEDGER_", extra="ignore")


TABLE = Table(
    "read_one_rows",
    MetaData(),
    Column("id", Uuid, primary_key=True),
    Column("district", Text),
    Column("firm_id", Uuid),
    prefixes=["TEMPORARY"],
)
SCOPE = Scope(district=TABLE.c.district, firm=TABLE.c.firm_id)
ONE = select(TABLE)
WUHOU, JINJIANG = uuid.uuid4(), uuid.uuid4()
FIRM_W, FIRM_J = uuid.uuid4(), uuid.uuid4()

CALLERS = {
    "wuhou staff": Principal("s1", "wuhou", frozenset({"caseworker"})),
    "jinjiang staff": Principal("s2", "jinjiang", frozenset({"caseworker"})),
    "city": Principal("s3", "*", frozenset({"finance"})),
    "firm W": Principal("f1", "wuhou", frozenset({"firm"}), str(FIRM_W)),
    "firm J": Principal("f2", "jinjiang", frozenset({"firm"}), str(FIRM_J)),
    "no role": Principal("x", "wuhou", frozenset()),
}
SEES = {
    "wuhou staff": {WUHOU},
    "jinjiang staff": {JINJIANG},
    "city": {WUHOU, JINJIANG},
    "firm W": {WUHOU},
    "firm J": {JINJIANG},
    "no role": set(),
}


@pytest.fixture
async def db(infra):
    database = Database(LedgerSettings(db_pool_size=1, db_max_overflow=0), MetaData())
    async with database.engine.begin() as conn:
        await conn.run_sync(TABLE.metadata.create_all)
        await conn.execute(
            insert(TABLE),
            [{"id": WUHOU, "district": "wuhou", "firm_id": FIRM_W}, {"id": JINJIANG, "district": "jinjiang", "firm_id": FIRM_J}],
        )
    yield database
    await database.dispose()


async def visible(db: Database, who: str, row_id: uuid.UUID, *, for_update: bool = False) -> bool:
    async with db.uow(read_only=not for_update) as uow:
        try:
            row = await read_one(
                uow.session, ONE, CALLERS[who], SCOPE, key=TABLE.c.id, id=row_id, resource="row", for_update=for_update
            )
        except NotFound:
            return False
        assert row["id"] == row_id
        return True


async def test_each_caller_reads_only_their_rows_in_any_order_and_after_the_cache_is_emptied(db: Database) -> None:
    order = [(who, row) for _ in range(3) for who in CALLERS for row in (WUHOU, JINJIANG, uuid.uuid4())]
    for i, (who, row) in enumerate(order):
        if i == len(order) // 2:
            scoping._BUILT.clear()
        assert await visible(db, who, row) is (row in SEES[who]), (who, row)


async def test_a_locked_read_locks_and_an_unlocked_one_does_not(db: Database) -> None:
    locked: list[str] = []
    async with db.uow() as uow:
        await uow.session.execute(text("SELECT 1"))
    for for_update in (False, True, False):
        async with db.uow() as uow:
            await read_one(
                uow.session, ONE, CALLERS["city"], SCOPE, key=TABLE.c.id, id=WUHOU, resource="row", for_update=for_update
            )
            locks = await uow.session.execute(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'tuple' OR mode = 'RowShareLock'")
            )
            locked.append(str(locks.scalar_one() > 0))
    assert locked == ["False", "True", "False"]
