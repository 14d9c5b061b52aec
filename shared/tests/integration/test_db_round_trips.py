"""What the request path saves in round trips, against the session's real PostgreSQL: reads run without
BEGIN/COMMIT, and only connections idle for a while are checked before use (a database restart still
goes unnoticed by the next request)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from pydantic_settings import SettingsConfigDict
from sqlalchemy import MetaData, text
from sqlalchemy import event as sa_event
from sqlalchemy.exc import DBAPIError

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


@pytest.mark.parametrize("pool_size", [1, 4])
async def test_a_read_only_unit_of_work_takes_a_connection_only_when_it_queries(infra, pool_size: int) -> None:
    """With a pool of 4 one connection is kept for the next read (a quarter of the pool); with a pool of
    1 none is, so the pool's only connection is never held by an idle read."""
    db = Database(SubsidySettings(db_pool_size=pool_size, db_max_overflow=0), MetaData())
    pool = db.engine.sync_engine.pool
    kept = pool_size // 4
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
        assert pool.checkedout() == db.read_connections.kept == kept, "returned (or kept) when the unit of work ends"
        try:
            async with db.uow(read_only=True) as uow:
                await uow.session.execute(text("SELECT 1"))
                raise RuntimeError("the route failed")
        except RuntimeError:
            pass
        assert pool.checkedout() == db.read_connections.kept == kept, "returned (or kept) when the route failed too"
    finally:
        await db.dispose()


async def test_reads_reuse_a_kept_connection_without_checking_it_out_again(infra) -> None:
    db = Database(SubsidySettings(db_pool_size=8, db_max_overflow=0, db_read_connections_kept=2), MetaData())
    pool = db.engine.sync_engine.pool
    checkouts: list[int] = []
    sa_event.listen(pool, "checkout", lambda *_: checkouts.append(1))
    try:
        pids = {await _backend_pid(db) for _ in range(5)}
        assert len(pids) == 1 and len(checkouts) == 1, "one checkout, then the kept connection"

        async def slow_read() -> None:
            async with db.uow(read_only=True) as uow:
                await uow.session.execute(text("SELECT pg_sleep(0.05)"))

        await asyncio.gather(*(slow_read() for _ in range(6)))
        assert db.read_connections.kept == 2 and pool.checkedout() == 2, "at most two kept; the rest went back"
    finally:
        await db.dispose()
    assert pool.checkedout() == 0, "disposing returns the kept connections"


async def test_a_kept_connection_that_died_fails_one_read_at_most_and_is_replaced(infra) -> None:
    """Within the idle threshold a dead kept connection is found by the read that uses it (as with the
    pool's own connections); past it, by a check before use, and no read fails."""
    db = Database(SubsidySettings(db_pool_size=4, db_max_overflow=0, db_pool_ping_idle_s=0.3), MetaData())
    admin = await asyncpg.connect(infra.admin_dsn)
    try:
        pid = await _backend_pid(db)
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
        await asyncio.sleep(0.05)
        with pytest.raises(DBAPIError):
            await _backend_pid(db)
        assert db.read_connections.kept == 0, "an invalidated connection is not kept"
        second = await _backend_pid(db)
        assert second != pid and db.read_connections.kept == 1
        await admin.execute("SELECT pg_terminate_backend($1)", second)
        await asyncio.sleep(0.5)
        third = await _backend_pid(db)
        assert third not in (pid, second), "checked before use after sitting idle, and replaced"
    finally:
        await admin.close()
        await db.dispose()


async def test_a_unit_of_work_that_touches_nothing_makes_no_session(infra) -> None:
    db = Database(SubsidySettings(), MetaData())
    try:
        async with db.uow() as uow:
            work = uow.work()
            await uow.commit()
        assert uow._session is None and work._session is None, "committed without a session: nothing ran"
        async with db.uow() as uow:
            uow.work()
        assert uow._session is None, "nor rolled back through one"
        async with db.uow() as uow:  # one that does run a statement still commits it in one transaction
            session = uow.work().session
            await session.execute(text("CREATE TEMPORARY TABLE lazy_uow (n int) ON COMMIT DROP"))
            await session.execute(text("INSERT INTO lazy_uow VALUES (1)"))
            assert uow.session is uow._session is not None
            await uow.commit()
    finally:
        await db.dispose()
