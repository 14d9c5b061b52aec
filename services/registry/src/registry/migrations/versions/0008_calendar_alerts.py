"""calendar horizon alerts: one row per missing year whose alert fired

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_alerts",
        sa.Column("missing_year", sa.Integer(), primary_key=True),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("days_left", sa.Integer(), nullable=False),
        schema="registry",
    )


def downgrade() -> None:
    op.drop_table("calendar_alerts", schema="registry")
