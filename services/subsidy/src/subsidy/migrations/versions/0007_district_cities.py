"""district → city, from the registry's community events (which city's policy applies)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "district_cities",
        sa.Column("district", sa.String(64), primary_key=True),
        sa.Column("city", sa.String(64), nullable=False),
        schema="subsidy",
    )


def downgrade() -> None:
    op.drop_table("district_cities", schema="subsidy")
