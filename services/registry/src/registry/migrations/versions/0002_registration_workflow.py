"""registration workflow

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 20:44:36.538508
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SEQUENCE registry.uscc_serial START 1000")
    op.create_table(
        "business_lines",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name_zh", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("sandbox", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("permits", postgresql.ARRAY(sa.String(length=32)), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.PrimaryKeyConstraint("code"),
        schema="registry",
    )
    op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("day"),
        schema="registry",
    )
    op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("year"),
        schema="registry",
    )
    op.create_table(
        "case_timeline",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("case_id", sa.UUID(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("reference", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        schema="registry",
    )
    op.create_index("ix_case_timeline_case", "case_timeline", ["case_id", "id"], unique=False, schema="registry")
    op.create_table(
        "cases",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("district", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("founder_sub", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("form", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("community_id", sa.UUID(), nullable=True),
        sa.Column("workstation_id", sa.UUID(), nullable=True),
        sa.Column("sandbox", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("permits", postgresql.ARRAY(sa.String(length=32)), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("licence_issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("account_opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("licence_clock", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("licence_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("licence_warn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("account_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("firm_id", sa.UUID(), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        schema="registry",
    )
    op.create_index("ix_cases_district_status", "cases", ["district", "status", "created_at"], unique=False, schema="registry")
    op.create_index("ix_cases_founder", "cases", ["founder_sub"], unique=False, schema="registry")
    op.create_table(
        "communities",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("district", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("land_use", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("district", "name", name="uq_communities_district_name"),
        schema="registry",
    )
    op.create_table(
        "sla_escalations",
        sa.Column("case_id", sa.UUID(), nullable=False),
        sa.Column("clock", sa.String(length=16), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "clock", "step"),
        schema="registry",
    )
    op.create_table(
        "case_materials",
        sa.Column("case_id", sa.UUID(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("document_ref", sa.String(length=300), nullable=True),
        sa.Column("checksum", sa.String(length=64), nullable=True),
        sa.Column("supplied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("supplied_by", sa.String(length=200), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminders", postgresql.ARRAY(sa.Date()), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("reminders_sent", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["registry.cases.id"],
        ),
        sa.PrimaryKeyConstraint("case_id", "code"),
        schema="registry",
    )
    op.create_table(
        "case_steps",
        sa.Column("case_id", sa.UUID(), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["registry.cases.id"],
        ),
        sa.PrimaryKeyConstraint("case_id", "step"),
        schema="registry",
    )
    op.create_table(
        "firm_status_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("firm_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["registry.firms.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        schema="registry",
    )
    op.create_index(
        op.f("ix_registry_firm_status_history_firm_id"), "firm_status_history", ["firm_id"], unique=False, schema="registry"
    )
    op.create_table(
        "sub_cases",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("case_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("signoffs", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("simplified_review", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("referred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["registry.cases.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        schema="registry",
    )
    op.create_index(op.f("ix_registry_sub_cases_case_id"), "sub_cases", ["case_id"], unique=False, schema="registry")
    op.create_table(
        "workstations",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("community_id", sa.UUID(), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("registrable", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["registry.communities.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("community_id", "code", name="uq_workstations_community_code"),
        schema="registry",
    )
    op.create_table(
        "occupancies",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("workstation_id", sa.UUID(), nullable=False),
        sa.Column("case_id", sa.UUID(), nullable=False),
        sa.Column("firm_id", sa.UUID(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workstation_id"],
            ["registry.workstations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        schema="registry",
    )
    op.create_index(
        "uq_occupancies_active_workstation",
        "occupancies",
        ["workstation_id"],
        unique=True,
        schema="registry",
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.add_column("firms", sa.Column("uscc", sa.String(length=18), nullable=True), schema="registry")
    op.add_column("firms", sa.Column("case_id", sa.UUID(), nullable=True), schema="registry")
    op.add_column("firms", sa.Column("registered_address", sa.String(length=300), nullable=True), schema="registry")
    op.add_column(
        "firms",
        sa.Column("business_lines", postgresql.ARRAY(sa.String(length=64)), server_default=sa.text("'{}'"), nullable=False),
        schema="registry",
    )
    op.add_column(
        "firms",
        sa.Column("status", sa.String(length=16), server_default=sa.text("'operating'"), nullable=False),
        schema="registry",
    )
    op.add_column("firms", sa.Column("status_since", sa.Date(), nullable=True), schema="registry")
    op.create_unique_constraint("uq_firms_uscc", "firms", ["uscc"], schema="registry")


def downgrade() -> None:
    op.execute("DROP SEQUENCE IF EXISTS registry.uscc_serial")
    op.drop_constraint("uq_firms_uscc", "firms", schema="registry", type_="unique")
    op.drop_column("firms", "status_since", schema="registry")
    op.drop_column("firms", "status", schema="registry")
    op.drop_column("firms", "business_lines", schema="registry")
    op.drop_column("firms", "registered_address", schema="registry")
    op.drop_column("firms", "case_id", schema="registry")
    op.drop_column("firms", "uscc", schema="registry")
    op.drop_index(
        "uq_occupancies_active_workstation",
        table_name="occupancies",
        schema="registry",
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.drop_table("occupancies", schema="registry")
    op.drop_table("workstations", schema="registry")
    op.drop_index(op.f("ix_registry_sub_cases_case_id"), table_name="sub_cases", schema="registry")
    op.drop_table("sub_cases", schema="registry")
    op.drop_index(op.f("ix_registry_firm_status_history_firm_id"), table_name="firm_status_history", schema="registry")
    op.drop_table("firm_status_history", schema="registry")
    op.drop_table("case_steps", schema="registry")
    op.drop_table("case_materials", schema="registry")
    op.drop_table("sla_escalations", schema="registry")
    op.drop_table("communities", schema="registry")
    op.drop_index("ix_cases_founder", table_name="cases", schema="registry")
    op.drop_index("ix_cases_district_status", table_name="cases", schema="registry")
    op.drop_table("cases", schema="registry")
    op.drop_index("ix_case_timeline_case", table_name="case_timeline", schema="registry")
    op.drop_table("case_timeline", schema="registry")
    op.drop_table("calendar_years", schema="registry")
    op.drop_table("calendar_days", schema="registry")
    op.drop_table("business_lines", schema="registry")
