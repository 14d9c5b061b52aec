"""Alembic support shared by every service: each service's env.py calls :func:`run_env`,
and its first revision calls :func:`create_platform_tables` for the outbox, inbox,
dead-letter and idempotency tables. The version table lives inside the service schema."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import MetaData
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import create_async_engine

from opc_shared.settings import ServiceSettings
from opc_shared.tables import PlatformTables


def alembic_config(script_location: Path, settings: ServiceSettings) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.attributes["settings"] = settings
    return cfg


def upgrade(script_location: Path, settings: ServiceSettings, revision: str = "head") -> None:
    command.upgrade(alembic_config(script_location, settings), revision)


def run_env(metadata: MetaData, settings_cls: type[ServiceSettings]) -> None:
    """Body of a service's migrations/env.py."""
    settings: ServiceSettings = context.config.attributes.get("settings") or settings_cls()
    schema = settings.db_schema
    PlatformTables(metadata)  # so autogenerate knows the platform tables are ours

    def do_run(connection: sa.Connection) -> None:
        # Only create when missing: a service role may own its schema yet lack CREATE on the database.
        if connection.execute(sa.text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}).first() is None:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        connection.execute(sa.text(f'SET search_path TO "{schema}"'))
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            include_schemas=False,
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(settings.database_url, poolclass=sa.pool.NullPool)
        try:
            async with engine.begin() as conn:
                # Serialise concurrent migrators (two replicas starting at once).
                await conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"opc_migrate:{schema}"})
                await conn.run_sync(do_run)
        finally:
            await engine.dispose()

    if context.is_offline_mode():
        context.configure(url=settings.database_url, target_metadata=metadata, version_table_schema=schema, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(run_async())


def create_platform_tables(schema: str) -> None:
    """Revision 1 of the platform tables; later changes get their own revisions."""
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
        sa.Column("event_id", pg.UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("payload", pg.JSONB, nullable=False),
        sa.Column("headers", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("publish_count", sa.Integer, nullable=False, server_default=sa.text("0")),
        schema=schema,
    )
    op.create_index("ix_outbox_unsent", "outbox", ["id"], schema=schema, postgresql_where=sa.text("sent_at IS NULL"))
    # A hot queue table: keep its statistics fresh so the relay's index plan survives bursts.
    op.execute(
        f'ALTER TABLE "{schema}".outbox SET (autovacuum_analyze_scale_factor = 0.01, autovacuum_vacuum_scale_factor = 0.02)'
    )
    op.create_index("ix_outbox_created_at", "outbox", ["created_at"], schema=schema)
    op.create_table(
        "inbox",
        sa.Column("event_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("source_topic", sa.String(200), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=schema,
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
        sa.Column("event_id", sa.String(200)),
        sa.Column("event_type", sa.String(200)),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column("key", sa.LargeBinary),
        sa.Column("raw_value", sa.LargeBinary),
        sa.Column("headers", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("replayed_at", sa.DateTime(timezone=True)),
        sa.Column("replay_error", sa.Text),
        schema=schema,
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(300), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("response_body", pg.JSONB, nullable=False),
        sa.Column("response_headers", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=schema,
    )


#: Where each topic's events come from (``source`` is ``/opc/<service_name>``): the inbox rows
#: written before the inbox was keyed by source get their source from the topic they came on.
_TOPIC_SOURCES = {
    "opc.registry.v1": "/opc/registry",
    "opc.subsidy.v1": "/opc/subsidy",
    "opc.matching.v1": "/opc/matching",
    "opc.ledger.v1": "/opc/compute_ledger",
}


def key_inbox_by_source_and_id(schema: str) -> None:
    """Revision 2 of the inbox: key it by (source, id) as the CloudEvents envelope carries them,
    both strings, so an id in any spelling is compared as sent (it was a UUID column, and an
    upper-case id came back lower-case and was taken for a duplicate)."""
    inbox = f'"{schema}".inbox'
    op.execute(f"ALTER TABLE {inbox} DROP CONSTRAINT inbox_pkey")
    op.execute(f"ALTER TABLE {inbox} ALTER COLUMN event_id TYPE varchar(256) USING event_id::text")
    op.execute(f"ALTER TABLE {inbox} ADD COLUMN source varchar(256)")
    cases = " ".join(f"WHEN '{topic}' THEN '{source}'" for topic, source in _TOPIC_SOURCES.items())
    op.execute(f"UPDATE {inbox} SET source = CASE source_topic {cases} ELSE 'unknown:' || source_topic END")
    op.execute(f"ALTER TABLE {inbox} ALTER COLUMN source SET NOT NULL")
    op.execute(f"ALTER TABLE {inbox} ADD CONSTRAINT inbox_pkey PRIMARY KEY (source, event_id)")


def unkey_inbox_by_source(schema: str) -> None:
    """Back to revision 1; ids that are not UUIDs (and second sources of one id) cannot be kept."""
    inbox = f'"{schema}".inbox'
    op.execute(f"ALTER TABLE {inbox} DROP CONSTRAINT inbox_pkey")
    op.execute(f"DELETE FROM {inbox} WHERE event_id !~* '^[{{]?[0-9a-f]{{8}}-?([0-9a-f]{{4}}-?){{3}}[0-9a-f]{{12}}[}}]?$'")
    op.execute(
        f"DELETE FROM {inbox} a USING {inbox} b "
        f"WHERE a.event_id::uuid = b.event_id::uuid AND (a.source, a.event_id) > (b.source, b.event_id)"
    )
    op.execute(f"ALTER TABLE {inbox} ALTER COLUMN event_id TYPE uuid USING event_id::uuid")
    op.execute(f"ALTER TABLE {inbox} DROP COLUMN source")
    op.execute(f"ALTER TABLE {inbox} ADD CONSTRAINT inbox_pkey PRIMARY KEY (event_id)")


def create_subject_ordering_tables(schema: str) -> None:
    """Per-subject event numbers: the producer's counters and the consumer's positions."""
    op.create_table(
        "subject_sequences",
        sa.Column("subject", sa.String(200), primary_key=True),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        schema=schema,
    )
    op.create_table(
        "subject_positions",
        sa.Column("source", sa.String(256), primary_key=True),
        sa.Column("subject", sa.String(200), primary_key=True),
        sa.Column("state", sa.String(100), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("event_id", sa.String(256), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=schema,
    )


def drop_subject_ordering_tables(schema: str) -> None:
    op.drop_table("subject_positions", schema=schema)
    op.drop_table("subject_sequences", schema=schema)


def install_outbox_notify(schema: str) -> None:
    """Wake the relay from the database itself: one NOTIFY per inserting statement, delivered at
    commit, so producers spend no extra round trip on it."""
    channel = f"{schema}_outbox"
    op.execute(
        f'''CREATE OR REPLACE FUNCTION "{schema}".outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_notify('{channel}', ''); RETURN NULL; END $$'''
    )
    op.execute(
        f'CREATE TRIGGER outbox_notify AFTER INSERT ON "{schema}".outbox '
        f'FOR EACH STATEMENT EXECUTE FUNCTION "{schema}".outbox_notify()'
    )


def drop_outbox_notify(schema: str) -> None:
    op.execute(f'DROP TRIGGER IF EXISTS outbox_notify ON "{schema}".outbox')
    op.execute(f'DROP FUNCTION IF EXISTS "{schema}".outbox_notify()')
