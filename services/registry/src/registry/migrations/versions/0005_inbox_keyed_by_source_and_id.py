"""inbox keyed by (source, id) as the CloudEvents envelope carries them

Revision ID: 0005
Revises: 0004
"""

from opc_shared.migrations import key_inbox_by_source_and_id, unkey_inbox_by_source

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    key_inbox_by_source_and_id("registry")


def downgrade() -> None:
    unkey_inbox_by_source("registry")
