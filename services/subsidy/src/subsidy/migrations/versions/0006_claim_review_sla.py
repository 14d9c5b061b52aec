"""claim review SLA: when each step of the ladder fired

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("claims", sa.Column("sla_warned_at", sa.DateTime(timezone=True)), schema="subsidy")
    op.add_column("claims", sa.Column("sla_breached_at", sa.DateTime(timezone=True)), schema="subsidy")
    op.create_index(
        "ix_claims_review_due_open",
        "claims",
        ["review_due_on"],
        schema="subsidy",
        postgresql_where=sa.text("status IN ('submitted', 'under_review') AND sla_breached_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_claims_review_due_open", "claims", schema="subsidy")
    op.drop_column("claims", "sla_breached_at", schema="subsidy")
    op.drop_column("claims", "sla_warned_at", schema="subsidy")
