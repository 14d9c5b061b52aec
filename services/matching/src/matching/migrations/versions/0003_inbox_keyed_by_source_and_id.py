"""inbox keyed by (source, id) as the CloudEvents envelope carries them

Revision ID: 0003
Revises: 0002
"""

from opc_shared.migrations import key_inbox_by_source_and_id, unkey_inbox_by_source

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    key_inbox_by_source_and_id("matching")


def downgrade() -> None:
    unkey_inbox_by_source("matching")
