"""The subsidy service's tables, all in schema ``subsidy``. Money columns are BIGINT fen."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

metadata = MetaData(schema="subsidy")

accounts = Table(
    "accounts",
    metadata,
    Column("firm_id", UUID(as_uuid=True), primary_key=True),
    Column("firm_name", String(200), nullable=False),
    Column("district", String(64), nullable=False),
    Column("community", String(200)),
    Column("status", String(20), nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("uscc", String(18)),
    Column("community_id", UUID(as_uuid=True)),
    Column("founder_is_graduate", Boolean),
    Column("graduation_date", Date),
    Column("bank_account", String(64)),
    Column("bank_name", String(200)),
    Index("ix_accounts_district_opened", "district", "opened_at"),
)

firm_status_changes = Table(
    "firm_status_changes",
    metadata,
    Column("firm_id", UUID(as_uuid=True), primary_key=True),
    Column("effective_date", Date, primary_key=True),
    Column("status", String(20), primary_key=True),
)

policy_versions = Table(
    "policy_versions",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("policy_set", String(64), nullable=False),
    Column("version", String(64), nullable=False),
    Column("city", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # draft | published
    Column("effective_from", Date, nullable=False),
    Column("document", JSONB, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("published_by", String(200)),
    Column("published_at", DateTime(timezone=True)),
    UniqueConstraint("policy_set", "version", name="uq_policy_versions_set_version"),
)

#: Every invoiced amount that is the base of an automatic programme, as the ledger reported it.
base_entries = Table(
    "base_entries",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("firm_id", UUID(as_uuid=True), nullable=False),
    Column("district", String(64), nullable=False),
    Column("year", Integer, nullable=False),
    Column("category", String(16), nullable=False),  # compute | tokens
    Column("source", String(16), nullable=False),  # invoice | reversal | pool
    Column("reference", String(80), nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("tax_fen", BigInteger, nullable=False),
    Column("total_fen", BigInteger, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("source", "reference", "category", name="uq_base_entries_source_ref_cat"),
    Index("ix_base_entries_year_cat_firm", "year", "category", "firm_id"),
)

entitlements = Table(
    "entitlements",
    metadata,
    Column("firm_id", UUID(as_uuid=True), primary_key=True),
    Column("programme", String(64), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("district", String(64), nullable=False),
    Column("policy_version_id", UUID(as_uuid=True), ForeignKey("subsidy.policy_versions.id"), nullable=False),
    Column("base_fen", BigInteger),
    Column("facts", JSONB, nullable=False, server_default="{}"),
    Column("amount_fen", BigInteger, nullable=False),
    #: Paid in batches marked paid (gross, before netting), and recoveries raised against it.
    Column("paid_fen", BigInteger, nullable=False, server_default="0"),
    Column("scheduled_fen", BigInteger, nullable=False, server_default="0"),
    Column("recovery_fen", BigInteger, nullable=False, server_default="0"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("amount_fen >= 0", name="ck_entitlements_amount"),
    Index("ix_entitlements_year_programme", "year", "programme"),
)

recoveries = Table(
    "recoveries",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("recipient_kind", String(32), nullable=False),
    Column("recipient_id", String(64), nullable=False),
    Column("district", String(64), nullable=False),
    Column("programme", String(64), nullable=False),
    Column("year", Integer, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("remaining_fen", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # open | netted | repaid
    Column("reason", String(500), nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("remaining_fen >= 0 AND remaining_fen <= amount_fen", name="ck_recoveries_remaining"),
    Index("ix_recoveries_recipient_open", "recipient_id", "status"),
)

calendar_years = Table(
    "calendar_years",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("holidays", ARRAY(Date), nullable=False),
    Column("adjusted_working_days", ARRAY(Date), nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
)

claims = Table(
    "claims",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("programme", String(64), nullable=False),
    Column("policy_version_id", UUID(as_uuid=True), ForeignKey("subsidy.policy_versions.id"), nullable=False),
    Column("recipient_kind", String(32), nullable=False),
    Column("recipient_id", String(64), nullable=False),
    Column("firm_id", UUID(as_uuid=True)),
    Column("district", String(64), nullable=False),
    Column("year", Integer, nullable=False),
    Column("status", String(32), nullable=False),
    Column("facts", JSONB, nullable=False),
    Column("requested_fen", BigInteger, nullable=False),
    Column("computed_fen", BigInteger, nullable=False),
    Column("approved_fen", BigInteger),
    Column("missing", JSONB, nullable=False, server_default="[]"),
    Column("reasons", JSONB, nullable=False, server_default="[]"),
    Column("applicant", String(200), nullable=False),
    Column("reviewer", String(200)),
    Column("approver", String(200)),
    Column("budget_id", UUID(as_uuid=True)),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("review_due_on", Date),
    Column("decided_at", DateTime(timezone=True)),
    Column("paid_at", DateTime(timezone=True)),
    Column("sla_warned_at", DateTime(timezone=True)),
    Column("sla_breached_at", DateTime(timezone=True)),
    CheckConstraint("approved_fen IS NULL OR approved_fen <= computed_fen", name="ck_claims_approved_le_computed"),
    Index("ix_claims_district_status", "district", "status"),
    Index("ix_claims_recipient_programme", "recipient_id", "programme"),
)

#: One row per evidence number that may back only one claim: the database refuses a second.
evidence_uses = Table(
    "evidence_uses",
    metadata,
    Column("kind", String(32), primary_key=True),
    Column("number", String(100), primary_key=True),
    Column("claim_id", UUID(as_uuid=True), ForeignKey("subsidy.claims.id"), nullable=False),
    Column("programme", String(64), nullable=False),
)

claim_evidence = Table(
    "claim_evidence",
    metadata,
    Column("claim_id", UUID(as_uuid=True), ForeignKey("subsidy.claims.id"), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("number", String(100), primary_key=True),
    Column("document_ref", String(500), nullable=False),
    Column("checksum", String(64), nullable=False),
)

audit_trail = Table(
    "audit_trail",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("entity", String(32), nullable=False),
    Column("entity_id", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("detail", JSONB, nullable=False, server_default="{}"),
    Index("ix_audit_entity", "entity", "entity_id", "id"),
)

budgets = Table(
    "budgets",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("programme", String(64), nullable=False),
    Column("year", Integer, nullable=False),
    Column("scope", String(64), nullable=False),  # a district code, or "*" for the city
    Column("total_fen", BigInteger, nullable=False),
    Column("reserved_fen", BigInteger, nullable=False, server_default="0"),
    Column("committed_fen", BigInteger, nullable=False, server_default="0"),
    UniqueConstraint("programme", "year", "scope", name="uq_budgets_programme_year_scope"),
    CheckConstraint(
        "reserved_fen >= 0 AND committed_fen >= 0 AND reserved_fen + committed_fen <= total_fen", name="ck_budgets_not_over"
    ),
)

payment_batches = Table(
    "payment_batches",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("scope", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # exported | settled
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("total_fen", BigInteger, nullable=False),
)

payments = Table(
    "payments",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("batch_id", UUID(as_uuid=True), ForeignKey("subsidy.payment_batches.id"), nullable=False),
    Column("reference", String(40), nullable=False, unique=True),
    Column("recipient_kind", String(32), nullable=False),
    Column("recipient_id", String(64), nullable=False),
    Column("recipient_code", String(64)),
    Column("bank_account", String(64)),
    Column("district", String(64), nullable=False),
    Column("gross_fen", BigInteger, nullable=False),
    Column("recovered_fen", BigInteger, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("items", JSONB, nullable=False),
    Column("status", String(16), nullable=False),  # pending | paid | failed
    Column("bank_reference", String(100)),
    Column("paid_at", DateTime(timezone=True)),
    CheckConstraint("amount_fen = gross_fen - recovered_fen AND amount_fen >= 0", name="ck_payments_net"),
)

#: Which city each district belongs to (from the registry's community events): picks the city's policy.
district_cities = Table(
    "district_cities",
    metadata,
    Column("district", String(64), primary_key=True),
    Column("city", String(64), nullable=False),
)
