"""per-subject event numbers: producer counters and consumer positions

Revision ID: 0005
Revises: 0004
"""

from opc_shared.migrations import create_subject_ordering_tables, drop_subject_ordering_tables

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_subject_ordering_tables("ledger")


def downgrade() -> None:
    drop_subject_ordering_tables("ledger")
