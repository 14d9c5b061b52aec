"""The platform tables (outbox, inbox, dead letters, idempotency keys) are defined once, in
opc_shared.tables; each service's migrations only replay the shared helpers of
opc_shared.migrations. Here every service's migrated schema is compared with that one
definition, so the two can never drift apart (a platform change needs both, and this test)."""

from __future__ import annotations

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from opc_shared.service_list import SERVICES
from opc_shared.tables import PlatformTables

PLATFORM = tuple(table.name for table in vars(PlatformTables(MetaData())).values())


@pytest.mark.parametrize("svc", SERVICES, ids=lambda s: s.name)
async def test_each_schema_holds_the_platform_tables_as_defined_once(infra, svc) -> None:
    del infra  # started: the per-service URLs are in the environment
    metadata = MetaData()  # compared in the service's schema, its role's search_path
    PlatformTables(metadata)
    engine = create_async_engine(os.environ[f"{svc.env_prefix}DATABASE_URL"])
    try:
        async with engine.connect() as conn:

            def diff(sync_conn):
                sync_conn.exec_driver_sql(f'SET search_path TO "{svc.schema}"')
                only_platform = {
                    "compare_type": True,
                    "include_name": lambda name, kind, parents: kind != "table" or name in PLATFORM,
                }
                context = MigrationContext.configure(sync_conn, opts=only_platform)
                return compare_metadata(context, metadata)

            changes = await conn.run_sync(diff)
    finally:
        await engine.dispose()

    assert changes == [], f"{svc.schema}: migrated platform tables differ from opc_shared.tables: {changes}"
