"""outbox NOTIFY trigger

Revision ID: 0002
Revises: 0001
"""

from opc_shared.migrations import drop_outbox_notify, install_outbox_notify

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    install_outbox_notify("matching")


def downgrade() -> None:
    drop_outbox_notify("matching")
