"""The compute ledger service's tables, all in schema ``ledger`` (created by migrations 0001–0003)."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

metadata = MetaData(schema="ledger")

firm_accounts = Table(
    "firm_accounts",
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
    Column("city", String(64)),
    Index("ix_firm_accounts_district_opened", "district", "opened_at"),
)

communities = Table(
    "communities",
    metadata,
    Column("community_id", UUID(as_uuid=True), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("district", String(64), nullable=False),
    Column("city", String(64), nullable=False),
    Column("operator_uscc", String(18)),
    Column("registered_at", DateTime(timezone=True), nullable=False),
)

vendors = Table(
    "vendors",
    metadata,
    Column("vendor_id", UUID(as_uuid=True), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("uscc", String(18), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("suspended_at", DateTime(timezone=True)),
)

vendor_secrets = Table(
    "vendor_secrets",
    metadata,
    Column("secret_id", UUID(as_uuid=True), primary_key=True),
    Column("vendor_id", UUID(as_uuid=True), ForeignKey("ledger.vendors.vendor_id"), nullable=False),
    Column("secret", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
)

webhook_messages = Table(
    "webhook_messages",
    metadata,
    Column("message_key", LargeBinary, primary_key=True),
    Column("vendor_id", UUID(as_uuid=True), nullable=False),
    Column("type", String(64), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

price_tables = Table(
    "price_tables",
    metadata,
    Column("price_id", UUID(as_uuid=True), primary_key=True),
    Column("vendor_id", UUID(as_uuid=True), ForeignKey("ledger.vendors.vendor_id"), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("resource", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("effective_from", DateTime(timezone=True), nullable=False),
    Column("fen_per_gpu_hour", Numeric),
    Column("fen_per_m_input", Numeric),
    Column("fen_per_m_cached_input", Numeric),
    Column("fen_per_m_output", Numeric),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

usage_keys = Table(
    "usage_keys",
    metadata,
    Column("record_key", LargeBinary, primary_key=True),
    Column("body_hash", LargeBinary, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("usage_id", BigInteger, nullable=False),
)

usage = Table(
    "usage",
    metadata,
    Column("usage_id", BigInteger, primary_key=True),
    Column("started_at", DateTime(timezone=True), primary_key=True),
    Column("ended_at", DateTime(timezone=True), nullable=False),
    Column("vendor_id", UUID(as_uuid=True), nullable=False),
    Column("record_id", String(128), nullable=False),
    Column("firm_id", UUID(as_uuid=True)),
    Column("buyer_uscc", String(18), nullable=False),
    Column("pool_id", UUID(as_uuid=True)),
    Column("kind", String(8), nullable=False),
    Column("resource", String(128), nullable=False),
    Column("gpu_seconds", BigInteger, nullable=False),
    Column("input_tokens", BigInteger, nullable=False),
    Column("cached_input_tokens", BigInteger, nullable=False),
    Column("output_tokens", BigInteger, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("tax_rate_bp", Integer, nullable=False),
    Column("rated_fen", BigInteger),
    Column("discrepancy", String(16)),
    Column("correction_of", String(128)),
    Column("superseded_by", BigInteger),
    Column("over_quota", Boolean, nullable=False),
    Column("invoice_line_id", BigInteger),
    Column("booked_period", String(7), nullable=False),
    Column("late", Boolean, nullable=False),  # booked in a later month than its own (which was closed)
    Column("received_at", DateTime(timezone=True), nullable=False),
)

invoices = Table(
    "invoices",
    metadata,
    Column("invoice_id", UUID(as_uuid=True), primary_key=True),
    Column("number", String(20), nullable=False, unique=True),
    Column("vendor_id", UUID(as_uuid=True), ForeignKey("ledger.vendors.vendor_id"), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("reverses_id", UUID(as_uuid=True)),
    Column("issued_on", Date, nullable=False),
    Column("seller_uscc", String(18), nullable=False),
    Column("buyer_uscc", String(18), nullable=False),
    Column("firm_id", UUID(as_uuid=True)),
    Column("community_id", UUID(as_uuid=True)),
    Column("status", String(16), nullable=False),
    Column("problems", JSONB, nullable=False),
    Column("total_fen", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("body_hash", LargeBinary, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True)),
)

invoice_lines = Table(
    "invoice_lines",
    metadata,
    Column("line_id", BigInteger, primary_key=True, autoincrement=True),
    Column("invoice_id", UUID(as_uuid=True), ForeignKey("ledger.invoices.invoice_id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("category", String(8), nullable=False),
    Column("description", String(500), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("tax_rate_bp", Integer, nullable=False),
    Column("tax_fen", BigInteger, nullable=False),
    Column("record_ids", ARRAY(Text), nullable=False),
    Column("reversed_amount_fen", BigInteger, nullable=False),
    Column("reversed_tax_fen", BigInteger, nullable=False),
)

pools = Table(
    "pools",
    metadata,
    Column("pool_id", UUID(as_uuid=True), primary_key=True),
    Column("community_id", UUID(as_uuid=True), ForeignKey("ledger.communities.community_id"), nullable=False),
    Column("vendor_id", UUID(as_uuid=True), ForeignKey("ledger.vendors.vendor_id"), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("price_fen", BigInteger, nullable=False),
    Column("invoice_number", String(20)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("settled_units", BigInteger, nullable=False),
    Column("settled_fen", BigInteger, nullable=False),
    Column("settled_tax_fen", BigInteger, nullable=False),
)

pool_allocations = Table(
    "pool_allocations",
    metadata,
    Column("pool_id", UUID(as_uuid=True), ForeignKey("ledger.pools.pool_id"), primary_key=True),
    Column("firm_id", UUID(as_uuid=True), primary_key=True),
    Column("quota", BigInteger, nullable=False),
    Column("drawn", BigInteger, nullable=False),
    Column("over_quota", BigInteger, nullable=False),
    Column("settled_drawn", BigInteger, nullable=False),
)

pool_settlements = Table(
    "pool_settlements",
    metadata,
    Column("settlement_id", UUID(as_uuid=True), primary_key=True),
    Column("pool_id", UUID(as_uuid=True), ForeignKey("ledger.pools.pool_id"), nullable=False),
    Column("period", String(7), nullable=False),
    Column("units", BigInteger, nullable=False),
    Column("total_fen", BigInteger, nullable=False),
    Column("tax_fen", BigInteger, nullable=False),
    Column("settled_at", DateTime(timezone=True), nullable=False),
)

pool_attributions = Table(
    "pool_attributions",
    metadata,
    Column("settlement_id", UUID(as_uuid=True), ForeignKey("ledger.pool_settlements.settlement_id"), primary_key=True),
    Column("firm_id", UUID(as_uuid=True), primary_key=True),
    Column("period", String(7), nullable=False),
    Column("category", String(8), nullable=False),
    Column("units", BigInteger, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("tax_fen", BigInteger, nullable=False),
    Column("total_fen", BigInteger, nullable=False),
)

periods = Table(
    "periods",
    metadata,
    Column("city", String(64), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("closed_at", DateTime(timezone=True), nullable=False),
)

period_snapshots = Table(
    "period_snapshots",
    metadata,
    Column("city", String(64), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("firm_id", UUID(as_uuid=True), primary_key=True),
    Column("category", String(8), primary_key=True),
    Column("records", BigInteger, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("invoiced_fen", BigInteger, nullable=False),
    Column("uninvoiced_fen", BigInteger, nullable=False),
    Column("pool_fen", BigInteger, nullable=False),
)
