"""a case reserves its firm's id when it is opened

Every event about a firm is keyed by the firm, the case's events included, so the firm's id
exists from the case's first event; cases opened before this get one now.

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE registry.cases SET firm_id = gen_random_uuid() WHERE firm_id IS NULL")
    op.execute("ALTER TABLE registry.cases ALTER COLUMN firm_id SET NOT NULL")


def downgrade() -> None:
    op.execute("ALTER TABLE registry.cases ALTER COLUMN firm_id DROP NOT NULL")
    op.execute("UPDATE registry.cases SET firm_id = NULL WHERE licence_issued_at IS NULL")
