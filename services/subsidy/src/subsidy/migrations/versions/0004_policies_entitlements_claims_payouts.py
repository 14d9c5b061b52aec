"""policy versions, firm facts, invoiced bases, entitlements, claims, evidence, budgets, payouts

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

S = "subsidy"
UUID = pg.UUID(as_uuid=True)
NOW = sa.func.now()


def upgrade() -> None:
    for column in (
        sa.Column("uscc", sa.String(18)),
        sa.Column("community_id", UUID),
        sa.Column("founder_is_graduate", sa.Boolean),
        sa.Column("graduation_date", sa.Date),
        sa.Column("bank_account", sa.String(64)),
        sa.Column("bank_name", sa.String(200)),
    ):
        op.add_column("accounts", column, schema=S)
    op.create_table(
        "firm_status_changes",
        sa.Column("firm_id", UUID, primary_key=True),
        sa.Column("effective_date", sa.Date, primary_key=True),
        sa.Column("status", sa.String(20), primary_key=True),
        schema=S,
    )
    op.create_table(
        "policy_versions",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("policy_set", sa.String(64), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("city", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("document", pg.JSONB, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("published_by", sa.String(200)),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("policy_set", "version", name="uq_policy_versions_set_version"),
        schema=S,
    )
    op.create_table(
        "base_entries",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("firm_id", UUID, nullable=False),
        sa.Column("district", sa.String(64), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("reference", sa.String(80), nullable=False),
        sa.Column("issued_on", sa.Date, nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("tax_fen", sa.BigInteger, nullable=False),
        sa.Column("total_fen", sa.BigInteger, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.UniqueConstraint("source", "reference", "category", name="uq_base_entries_source_ref_cat"),
        schema=S,
    )
    op.create_index("ix_base_entries_year_cat_firm", "base_entries", ["year", "category", "firm_id"], schema=S)
    op.create_table(
        "entitlements",
        sa.Column("firm_id", UUID, primary_key=True),
        sa.Column("programme", sa.String(64), primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("district", sa.String(64), nullable=False),
        sa.Column("policy_version_id", UUID, sa.ForeignKey(f"{S}.policy_versions.id"), nullable=False),
        sa.Column("base_fen", sa.BigInteger),
        sa.Column("facts", pg.JSONB, nullable=False, server_default="{}"),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("paid_fen", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("scheduled_fen", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("recovery_fen", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.CheckConstraint("amount_fen >= 0", name="ck_entitlements_amount"),
        schema=S,
    )
    op.create_index("ix_entitlements_year_programme", "entitlements", ["year", "programme"], schema=S)
    op.create_table(
        "recoveries",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("recipient_kind", sa.String(32), nullable=False),
        sa.Column("recipient_id", sa.String(64), nullable=False),
        sa.Column("district", sa.String(64), nullable=False),
        sa.Column("programme", sa.String(64), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("remaining_fen", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("remaining_fen >= 0 AND remaining_fen <= amount_fen", name="ck_recoveries_remaining"),
        schema=S,
    )
    op.create_index("ix_recoveries_recipient_open", "recoveries", ["recipient_id", "status"], schema=S)
    op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("holidays", pg.ARRAY(sa.Date), nullable=False),
        sa.Column("adjusted_working_days", pg.ARRAY(sa.Date), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        schema=S,
    )
    op.create_table(
        "claims",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("programme", sa.String(64), nullable=False),
        sa.Column("policy_version_id", UUID, sa.ForeignKey(f"{S}.policy_versions.id"), nullable=False),
        sa.Column("recipient_kind", sa.String(32), nullable=False),
        sa.Column("recipient_id", sa.String(64), nullable=False),
        sa.Column("firm_id", UUID),
        sa.Column("district", sa.String(64), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("facts", pg.JSONB, nullable=False),
        sa.Column("requested_fen", sa.BigInteger, nullable=False),
        sa.Column("computed_fen", sa.BigInteger, nullable=False),
        sa.Column("approved_fen", sa.BigInteger),
        sa.Column("missing", pg.JSONB, nullable=False, server_default="[]"),
        sa.Column("reasons", pg.JSONB, nullable=False, server_default="[]"),
        sa.Column("applicant", sa.String(200), nullable=False),
        sa.Column("reviewer", sa.String(200)),
        sa.Column("approver", sa.String(200)),
        sa.Column("budget_id", UUID),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("review_due_on", sa.Date),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("paid_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("approved_fen IS NULL OR approved_fen <= computed_fen", name="ck_claims_approved_le_computed"),
        schema=S,
    )
    op.create_index("ix_claims_district_status", "claims", ["district", "status"], schema=S)
    op.create_index("ix_claims_recipient_programme", "claims", ["recipient_id", "programme"], schema=S)
    op.create_table(
        "evidence_uses",
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("number", sa.String(100), primary_key=True),
        sa.Column("claim_id", UUID, sa.ForeignKey(f"{S}.claims.id"), nullable=False),
        sa.Column("programme", sa.String(64), nullable=False),
        schema=S,
    )
    op.create_table(
        "claim_evidence",
        sa.Column("claim_id", UUID, sa.ForeignKey(f"{S}.claims.id"), primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("number", sa.String(100), primary_key=True),
        sa.Column("document_ref", sa.String(500), nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False),
        schema=S,
    )
    op.create_table(
        "audit_trail",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", pg.JSONB, nullable=False, server_default="{}"),
        schema=S,
    )
    op.create_index("ix_audit_entity", "audit_trail", ["entity", "entity_id", "id"], schema=S)
    op.create_table(
        "budgets",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("programme", sa.String(64), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("total_fen", sa.BigInteger, nullable=False),
        sa.Column("reserved_fen", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("committed_fen", sa.BigInteger, nullable=False, server_default="0"),
        sa.UniqueConstraint("programme", "year", "scope", name="uq_budgets_programme_year_scope"),
        sa.CheckConstraint(
            "reserved_fen >= 0 AND committed_fen >= 0 AND reserved_fen + committed_fen <= total_fen", name="ck_budgets_not_over"
        ),
        schema=S,
    )
    op.create_table(
        "payment_batches",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("total_fen", sa.BigInteger, nullable=False),
        schema=S,
    )
    op.create_table(
        "payments",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("batch_id", UUID, sa.ForeignKey(f"{S}.payment_batches.id"), nullable=False),
        sa.Column("reference", sa.String(40), nullable=False, unique=True),
        sa.Column("recipient_kind", sa.String(32), nullable=False),
        sa.Column("recipient_id", sa.String(64), nullable=False),
        sa.Column("recipient_code", sa.String(64)),
        sa.Column("bank_account", sa.String(64)),
        sa.Column("district", sa.String(64), nullable=False),
        sa.Column("gross_fen", sa.BigInteger, nullable=False),
        sa.Column("recovered_fen", sa.BigInteger, nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("items", pg.JSONB, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("bank_reference", sa.String(100)),
        sa.Column("paid_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("amount_fen = gross_fen - recovered_fen AND amount_fen >= 0", name="ck_payments_net"),
        schema=S,
    )


def downgrade() -> None:
    for table in (
        "payments",
        "payment_batches",
        "budgets",
        "audit_trail",
        "claim_evidence",
        "evidence_uses",
        "claims",
        "calendar_years",
        "recoveries",
        "entitlements",
        "base_entries",
        "policy_versions",
        "firm_status_changes",
    ):
        op.drop_table(table, schema=S)
    for column in ("bank_name", "bank_account", "graduation_date", "founder_is_graduate", "community_id", "uscc"):
        op.drop_column("accounts", column, schema=S)
