"""outbox NOTIFY trigger

Revision ID: 0004
Revises: 0003
"""

from opc_shared.migrations import drop_outbox_notify, install_outbox_notify

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    install_outbox_notify("registry")


def downgrade() -> None:
    drop_outbox_notify("registry")
