"""What the request path saves in round trips, against the session's real PostgreSQL: reads run without
BEGIN/COMMIT, and only connections idle for a while are checked before use (a database restart still
goes unnoticed by the next request)."""

from __future__ import annotations

import asyncio

import asyncpg
from pydantic_settings import SettingsConfigDict
from sqlalchemy import MetaData, text

from opc_shared.db import Database
from opc_shared.settings import ServiceSettings


class SubsidySettings(ServiceSettings):
    """The subsidy role's database URL from the session's environment (no service code involved)."""

    model_config = SettingsConfigDict(env_prefix="OPC_SUBSIDY_", extra="ignore")


async def test_a_read_only_unit_of_work_runs_each_statement_on_its_own(infra) -> None:
    db = Database(SubsidySettings(), MetaData())
    try:
        async with db.uow(read_only=True) as uow:
            first = (await uow.session.execute(text("SELECT txid_current()"))).scalar_one()
            second = (await uow.session.execute(text("SELECT txid_current()"))).scalar_one()
            await uow.commit()
        assert first != second, "no explicit transaction: every statement is its own"
        async with db.uow() as uow:
            first = (await uow.session.execute(text("SELECT txid_current()"))).scalar_one()
            second = (await uow.session.execute(text("SELECT txid_current()"))).scalar_one()
            await uow.commit()
        assert first == second, "a normal unit of work is one transaction"
        async with db.uow() as uow:  # the pool's connection came back out of autocommit
            assert (await uow.session.execute(text("SELECT txid_current() = txid_current()"))).scalar_one()
    finally:
        await db.dispose()


async def _backend_pid(db: Database) -> int:
    async with db.uow(read_only=True) as uow:
        return (await uow.session.execute(text("SELECT pg_backend_pid()"))).scalar_one()


async def test_a_connection_idle_past_the_threshold_is_checked_and_replaced_when_dead(infra) -> None:
    db = Database(SubsidySettings(db_pool_size=1, db_max_overflow=0, db_pool_ping_idle_s=0.2), MetaData())
    admin = await asyncpg.connect(infra.admin_dsn)
    try:
        pid = await _backend_pid(db)
        assert await _backend_pid(db) == pid, "one pooled connection, reused"
        await admin.execute("SELECT pg_terminate_backend($1)", pid)  # as a database restart would
        await asyncio.sleep(0.4)
        assert await _backend_pid(db) != pid, "the dead connection was noticed before use and replaced"
    finally:
        await admin.close()
        await db.dispose()


async def test_a_read_only_unit_of_work_refuses_to_publish(infra) -> None:
    import uuid
    from datetime import UTC, datetime

    import pytest

    from opc_shared.contracts import FirmRegisteredV1
    from opc_shared.db import ReadOnlyWork

    db = Database(SubsidySettings(), MetaData())
    try:
        async with db.uow(read_only=True) as uow:
            uow.publish(
                FirmRegisteredV1(
                    firm_id=uuid.uuid4(), name="只读", district="wuhou", founder_name="甲", registered_at=datetime.now(UTC)
                )
            )
            with pytest.raises(ReadOnlyWork):
                await uow.commit()
    finally:
        await db.dispose()


async def test_a_read_only_unit_of_work_takes_a_connection_only_when_it_queries(infra) -> None:
    db = Database(SubsidySettings(db_pool_size=1, db_max_overflow=0), MetaData())
    pool = db.engine.sync_engine.pool
    try:
        async with db.uow(read_only=True) as uow:
            await uow.commit()
            assert pool.checkedout() == 0, "a read answered from memory takes no connection"
        async with db.uow(read_only=True) as uow:
            rows = (await uow.session.execute(text("SELECT n FROM generate_series(1, 3) AS n"))).mappings().all()
            assert [row["n"] for row in rows] == [1, 2, 3]
            assert (await uow.session.execute(text("SELECT 2"))).scalar_one() == 2
            assert pool.checkedout() == 1, "one connection for all the statements of a unit of work"
            await uow.commit()
        assert pool.checkedout() == 0, "returned when the unit of work ends"
        try:
            async with db.uow(read_only=True) as uow:
                await uow.session.execute(text("SELECT 1"))
                raise RuntimeError("the route failed")
        except RuntimeError:
            pass
        assert pool.checkedout() == 0, "returned when the route failed too"
    finally:
        await db.dispose()
