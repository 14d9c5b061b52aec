"""per-subject event numbers: producer counters and consumer positions

Revision ID: 0004
Revises: 0003
"""

from opc_shared.migrations import create_subject_ordering_tables, drop_subject_ordering_tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_subject_ordering_tables("ledger")


def downgrade() -> None:
    drop_subject_ordering_tables("ledger")
