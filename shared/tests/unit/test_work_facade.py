"""Code running inside someone else's transaction (a route, a consumer's handler, an idempotent
request's work) gets a view of the unit of work that cannot end the transaction."""

from __future__ import annotations

from types import SimpleNamespace
from typing import ClassVar

import pytest
from sqlalchemy import MetaData

from opc_shared.db import Database, Work
from opc_shared.service import _uow
from opc_shared.settings import ServiceSettings


class ProbeSettings(ServiceSettings):
    service_name: ClassVar[str] = "probe"
    db_schema: ClassVar[str] = "probe"


def database() -> Database:
    # Nothing here connects: engines and sessions connect on first use.
    return Database(ProbeSettings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none"), MetaData())


async def test_a_work_view_cannot_commit_roll_back_or_close() -> None:
    uow = database().uow()
    work = uow.work()
    for name in ("commit", "rollback"):
        with pytest.raises(AttributeError, match="not yours"):
            getattr(work, name)
    for name in ("commit", "rollback", "close", "begin", "connection", "sync_session", "invalidate"):
        with pytest.raises(AttributeError, match="not yours"):
            getattr(work.session, name)
    assert work.session.begin_nested  # savepoints stay allowed: they cannot end the transaction
    assert work.db is uow.db and work.work() is work


async def test_the_request_dependency_hands_routes_a_work_view() -> None:
    request = SimpleNamespace(method="POST", app=SimpleNamespace(state=SimpleNamespace(db=database())))
    dependency = _uow(request)
    given = await anext(dependency)
    try:
        assert isinstance(given, Work)
        with pytest.raises(AttributeError):
            await given.commit()
    finally:
        await dependency.aclose()
