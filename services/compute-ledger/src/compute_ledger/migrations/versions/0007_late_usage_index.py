"""usage booked outside its own month flagged ``late``; the (firm, booked period) index over those only

Revision ID: 0007
Revises: 0006

Every usage row carried an index entry on (firm_id, booked_period), but only late rows (booked in the
open month because their own month was closed when they arrived) are booked outside the month their
``started_at`` falls in; a firm's month is otherwise found through (firm_id, started_at). The ingest
now sets ``late``, and the index holds only those rows: one index entry fewer per record (~2.6 ms of
PostgreSQL CPU per 1,000 ingested records, measured on copies of the table).
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


#: Rows booked in another month than the Asia/Shanghai month their window started in.
BACKFILL = (
    "UPDATE ledger.usage SET late = true WHERE booked_period <> to_char(started_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')"
)


def upgrade() -> None:
    op.execute("ALTER TABLE ledger.usage ADD COLUMN late boolean NOT NULL DEFAULT false")
    op.execute(BACKFILL)
    op.execute("CREATE INDEX ix_usage_late ON ledger.usage (firm_id, booked_period) WHERE late")
    op.execute("DROP INDEX ledger.ix_usage_booked")


def downgrade() -> None:
    op.execute("CREATE INDEX ix_usage_booked ON ledger.usage (firm_id, booked_period)")
    op.execute("DROP INDEX ledger.ix_usage_late")
    op.execute("ALTER TABLE ledger.usage DROP COLUMN late")
