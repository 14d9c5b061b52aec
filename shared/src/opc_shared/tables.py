"""Platform tables every service keeps inside its own schema: outbox, inbox, dead letters, idempotency keys."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from opc_shared.events import EVENT_KEY_LENGTH


class PlatformTables:
    """The four platform tables bound to one service's metadata (and so its schema)."""

    def __init__(self, metadata: MetaData) -> None:
        # keep_existing: several Database objects may share one service's metadata.
        self.outbox = Table(
            "outbox",
            metadata,
            Column("id", BigInteger, Identity(always=False), primary_key=True),
            Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
            Column("event_type", String(200), nullable=False),
            Column("topic", String(200), nullable=False),
            Column("key", String(200), nullable=False),
            Column("payload", JSONB, nullable=False),
            Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
            Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
            Column("sent_at", DateTime(timezone=True)),
            Column("publish_count", Integer, nullable=False, server_default=text("0")),
            Index("ix_outbox_unsent", "id", postgresql_where=text("sent_at IS NULL")),
            Index("ix_outbox_created_at", "created_at"),
            keep_existing=True,
        )
        # Keyed by what the CloudEvents envelope carries: ``id`` is a string unique per ``source``.
        self.inbox = Table(
            "inbox",
            metadata,
            Column("source", String(EVENT_KEY_LENGTH), primary_key=True),
            Column("event_id", String(EVENT_KEY_LENGTH), primary_key=True),
            Column("event_type", String(200), nullable=False),
            Column("source_topic", String(200), nullable=False),
            Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
            keep_existing=True,
        )
        #: Producer side: the last number given to each subject's events (see UnitOfWork.commit).
        self.subject_sequences = Table(
            "subject_sequences",
            metadata,
            Column("subject", String(200), primary_key=True),
            Column("last_seq", BigInteger, nullable=False),
            keep_existing=True,
        )
        #: Consumer side: the newest event applied per subject and piece of state (consumer.newest_for_subject).
        self.subject_positions = Table(
            "subject_positions",
            metadata,
            Column("source", String(EVENT_KEY_LENGTH), primary_key=True),
            Column("subject", String(200), primary_key=True),
            Column("state", String(100), primary_key=True),
            Column("seq", BigInteger, nullable=False),
            Column("event_id", String(EVENT_KEY_LENGTH), nullable=False),
            Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
            keep_existing=True,
        )
        self.dead_letters = Table(
            "dead_letters",
            metadata,
            Column("id", BigInteger, Identity(always=False), primary_key=True),
            Column("event_id", String(200)),
            Column("event_type", String(200)),
            Column("topic", String(200), nullable=False),
            Column("partition", Integer, nullable=False),
            Column("offset", BigInteger, nullable=False),
            Column("key", LargeBinary),
            Column("raw_value", LargeBinary),
            Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
            Column("error", Text, nullable=False),
            Column("attempts", Integer, nullable=False),
            Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
            Column("replayed_at", DateTime(timezone=True)),
            Column("replay_error", Text),
            keep_existing=True,
        )
        self.idempotency_keys = Table(
            "idempotency_keys",
            metadata,
            Column("scope", String(300), primary_key=True),
            Column("key", String(200), primary_key=True),
            Column("request_hash", String(64), nullable=False),
            Column("status_code", Integer, nullable=False),
            Column("response_body", JSONB, nullable=False),
            Column("response_headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
            Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
            keep_existing=True,
        )
