"""deficiency notices (一次性告知书) as numbered documents

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SEQUENCE registry.notice_serial START 1")
    op.create_table(
        "notices",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("case_id", pg.UUID(as_uuid=True), sa.ForeignKey("registry.cases.id"), nullable=False),
        sa.Column("number", sa.String(80), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reminders", pg.ARRAY(sa.Date()), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("items", pg.JSONB(), nullable=False),
        schema="registry",
    )
    op.create_index("ix_notices_case", "notices", ["case_id", "issued_at"], schema="registry")


def downgrade() -> None:
    op.drop_table("notices", schema="registry")
    op.execute("DROP SEQUENCE registry.notice_serial")
