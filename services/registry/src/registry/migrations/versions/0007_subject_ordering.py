"""per-subject event numbers: producer counters and consumer positions

Revision ID: 0007
Revises: 0006
"""

from opc_shared.migrations import create_subject_ordering_tables, drop_subject_ordering_tables

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_subject_ordering_tables("registry")


def downgrade() -> None:
    drop_subject_ordering_tables("registry")
