"""platform tables and firms

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from opc_shared.migrations import create_platform_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "registry"


def upgrade() -> None:
    create_platform_tables(SCHEMA)
    op.create_table(
        "firms",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("district", sa.String(64), nullable=False),
        sa.Column("community", sa.String(200)),
        sa.Column("founder_name", sa.String(100), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=SCHEMA,
    )
    op.create_index("ix_firms_district_created", "firms", ["district", "created_at"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("firms", schema=SCHEMA)
    for table in ("idempotency_keys", "dead_letters", "inbox", "outbox"):
        op.drop_table(table, schema=SCHEMA)
