"""platform tables and accounts

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

SCHEMA = "subsidy"


def upgrade() -> None:
    create_platform_tables(SCHEMA)
    op.create_table(
        "accounts",
        sa.Column("firm_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("firm_name", sa.String(200), nullable=False),
        sa.Column("district", sa.String(64), nullable=False),
        sa.Column("community", sa.String(200)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=SCHEMA,
    )
    op.create_index("ix_accounts_district_opened", "accounts", ["district", "opened_at"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("accounts", schema=SCHEMA)
    for table in ("idempotency_keys", "dead_letters", "inbox", "outbox"):
        op.drop_table(table, schema=SCHEMA)
