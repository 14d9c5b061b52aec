"""vendors, webhook messages, usage (partitioned by month), price tables, invoices, pools, periods

Revision ID: 0004
Revises: 0003

``usage`` is the only table that grows fast. It is range-partitioned on ``started_at`` by
Asia/Shanghai month (partitions are created on demand by the ingest path, see
``adapters/usage_store.ensure_partitions``). Uniqueness of a vendor's record id "for good"
cannot be a constraint of a partitioned table (it would have to include the partition key),
so it lives in ``usage_keys``: one 16-byte key per record (BLAKE2b of vendor id + record id),
the 16-byte hash of the record's body, and where the record lives (partition key + id).
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SQL = """
ALTER TABLE ledger.firm_accounts ADD COLUMN uscc varchar(18);
ALTER TABLE ledger.firm_accounts ADD COLUMN community_id uuid;
ALTER TABLE ledger.firm_accounts ADD COLUMN city varchar(64);
CREATE UNIQUE INDEX ux_firm_accounts_uscc ON ledger.firm_accounts (uscc) WHERE uscc IS NOT NULL;
CREATE INDEX ix_firm_accounts_community ON ledger.firm_accounts (community_id) WHERE community_id IS NOT NULL;

CREATE TABLE ledger.communities (
    community_id uuid PRIMARY KEY,
    name varchar(200) NOT NULL,
    district varchar(64) NOT NULL,
    city varchar(64) NOT NULL,
    operator_uscc varchar(18),
    registered_at timestamptz NOT NULL
);
CREATE INDEX ix_communities_operator ON ledger.communities (operator_uscc) WHERE operator_uscc IS NOT NULL;

CREATE TABLE ledger.vendors (
    vendor_id uuid PRIMARY KEY,
    name varchar(200) NOT NULL,
    uscc varchar(18) NOT NULL UNIQUE,
    kind varchar(16) NOT NULL,
    status varchar(16) NOT NULL DEFAULT 'active',
    created_at timestamptz NOT NULL,
    suspended_at timestamptz
);

CREATE TABLE ledger.vendor_secrets (
    secret_id uuid PRIMARY KEY,
    vendor_id uuid NOT NULL REFERENCES ledger.vendors (vendor_id),
    secret text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz
);
CREATE INDEX ix_vendor_secrets_vendor ON ledger.vendor_secrets (vendor_id);

-- webhook-id seen, for good: 16 bytes of BLAKE2b(vendor id + webhook-id).
CREATE TABLE ledger.webhook_messages (
    message_key bytea PRIMARY KEY,
    vendor_id uuid NOT NULL,
    type varchar(64) NOT NULL,
    received_at timestamptz NOT NULL
);

CREATE TABLE ledger.price_tables (
    price_id uuid PRIMARY KEY,
    vendor_id uuid NOT NULL REFERENCES ledger.vendors (vendor_id),
    kind varchar(8) NOT NULL,
    resource varchar(128) NOT NULL,
    version integer NOT NULL,
    effective_from timestamptz NOT NULL,
    fen_per_gpu_hour numeric,
    fen_per_m_input numeric,
    fen_per_m_cached_input numeric,
    fen_per_m_output numeric,
    created_at timestamptz NOT NULL,
    UNIQUE (vendor_id, kind, resource, effective_from),
    UNIQUE (vendor_id, kind, resource, version)
);

CREATE TABLE ledger.usage_keys (
    record_key bytea PRIMARY KEY,
    body_hash bytea NOT NULL,
    started_at timestamptz NOT NULL,
    usage_id bigint NOT NULL
);

CREATE SEQUENCE ledger.usage_id_seq AS bigint CACHE 1000;

CREATE TABLE ledger.usage (
    usage_id bigint NOT NULL,
    started_at timestamptz NOT NULL,
    ended_at timestamptz NOT NULL,
    vendor_id uuid NOT NULL,
    record_id varchar(128) NOT NULL,
    firm_id uuid,
    buyer_uscc varchar(18) NOT NULL,
    pool_id uuid,
    kind varchar(8) NOT NULL,
    resource varchar(128) NOT NULL,
    gpu_seconds bigint NOT NULL DEFAULT 0,
    input_tokens bigint NOT NULL DEFAULT 0,
    cached_input_tokens bigint NOT NULL DEFAULT 0,
    output_tokens bigint NOT NULL DEFAULT 0,
    amount_fen bigint NOT NULL,
    tax_rate_bp integer NOT NULL,
    rated_fen bigint,
    discrepancy varchar(16),
    correction_of varchar(128),
    superseded_by bigint,
    over_quota boolean NOT NULL DEFAULT false,
    invoice_line_id bigint,
    booked_period char(7) NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (usage_id, started_at)
) PARTITION BY RANGE (started_at);
CREATE INDEX ix_usage_firm_started ON ledger.usage (firm_id, started_at);
CREATE INDEX ix_usage_booked ON ledger.usage (firm_id, booked_period);
CREATE INDEX ix_usage_unattributed ON ledger.usage (buyer_uscc) WHERE firm_id IS NULL;
CREATE INDEX ix_usage_discrepancy ON ledger.usage (vendor_id, started_at) WHERE discrepancy IS NOT NULL;

CREATE TABLE ledger.invoices (
    invoice_id uuid PRIMARY KEY,
    number char(20) NOT NULL UNIQUE,
    vendor_id uuid NOT NULL REFERENCES ledger.vendors (vendor_id),
    kind varchar(8) NOT NULL,
    reverses_id uuid REFERENCES ledger.invoices (invoice_id),
    issued_on date NOT NULL,
    seller_uscc varchar(18) NOT NULL,
    buyer_uscc varchar(18) NOT NULL,
    firm_id uuid,
    community_id uuid,
    status varchar(16) NOT NULL,
    problems jsonb NOT NULL DEFAULT '[]'::jsonb,
    total_fen bigint NOT NULL,
    reason text NOT NULL DEFAULT '',
    body_hash bytea NOT NULL,
    received_at timestamptz NOT NULL,
    recorded_at timestamptz
);
CREATE INDEX ix_invoices_firm_issued ON ledger.invoices (firm_id, issued_on);
CREATE INDEX ix_invoices_buyer_unattributed ON ledger.invoices (buyer_uscc) WHERE status = 'unattributed';
CREATE INDEX ix_invoices_reverses ON ledger.invoices (reverses_id) WHERE reverses_id IS NOT NULL;

CREATE TABLE ledger.invoice_lines (
    line_id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    invoice_id uuid NOT NULL REFERENCES ledger.invoices (invoice_id),
    line_no integer NOT NULL,
    category varchar(8) NOT NULL,
    description varchar(500) NOT NULL DEFAULT '',
    amount_fen bigint NOT NULL,
    tax_rate_bp integer NOT NULL,
    tax_fen bigint NOT NULL,
    record_ids text[] NOT NULL DEFAULT '{}',
    reversed_amount_fen bigint NOT NULL DEFAULT 0,
    reversed_tax_fen bigint NOT NULL DEFAULT 0,
    UNIQUE (invoice_id, line_no)
);

CREATE TABLE ledger.pools (
    pool_id uuid PRIMARY KEY,
    community_id uuid NOT NULL REFERENCES ledger.communities (community_id),
    vendor_id uuid NOT NULL REFERENCES ledger.vendors (vendor_id),
    kind varchar(8) NOT NULL,
    quantity bigint NOT NULL,
    price_fen bigint NOT NULL,
    invoice_number char(20),
    created_at timestamptz NOT NULL,
    settled_units bigint NOT NULL DEFAULT 0,
    settled_fen bigint NOT NULL DEFAULT 0,
    settled_tax_fen bigint NOT NULL DEFAULT 0
);

CREATE TABLE ledger.pool_allocations (
    pool_id uuid NOT NULL REFERENCES ledger.pools (pool_id),
    firm_id uuid NOT NULL,
    quota bigint NOT NULL,
    drawn bigint NOT NULL DEFAULT 0,
    over_quota bigint NOT NULL DEFAULT 0,
    settled_drawn bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (pool_id, firm_id)
);

CREATE TABLE ledger.pool_settlements (
    settlement_id uuid PRIMARY KEY,
    pool_id uuid NOT NULL REFERENCES ledger.pools (pool_id),
    period char(7) NOT NULL,
    units bigint NOT NULL,
    total_fen bigint NOT NULL,
    tax_fen bigint NOT NULL,
    settled_at timestamptz NOT NULL
);
CREATE INDEX ix_pool_settlements_pool ON ledger.pool_settlements (pool_id, settled_at);

CREATE TABLE ledger.pool_attributions (
    settlement_id uuid NOT NULL REFERENCES ledger.pool_settlements (settlement_id),
    firm_id uuid NOT NULL,
    period char(7) NOT NULL,
    category varchar(8) NOT NULL,
    units bigint NOT NULL,
    amount_fen bigint NOT NULL,
    tax_fen bigint NOT NULL,
    total_fen bigint NOT NULL,
    PRIMARY KEY (settlement_id, firm_id)
);
CREATE INDEX ix_pool_attributions_firm ON ledger.pool_attributions (firm_id, period);

CREATE TABLE ledger.periods (
    city varchar(64) NOT NULL,
    period char(7) NOT NULL,
    closed_at timestamptz NOT NULL,
    PRIMARY KEY (city, period)
);

CREATE TABLE ledger.period_snapshots (
    city varchar(64) NOT NULL,
    period char(7) NOT NULL,
    firm_id uuid NOT NULL,
    category varchar(8) NOT NULL,
    records bigint NOT NULL,
    amount_fen bigint NOT NULL,
    invoiced_fen bigint NOT NULL,
    uninvoiced_fen bigint NOT NULL,
    pool_fen bigint NOT NULL,
    PRIMARY KEY (city, period, firm_id, category)
);
"""


def upgrade() -> None:
    for statement in SQL.split(";\n"):
        if statement.strip():
            op.execute(statement)


def downgrade() -> None:
    for table in (
        "period_snapshots",
        "periods",
        "pool_attributions",
        "pool_settlements",
        "pool_allocations",
        "pools",
        "invoice_lines",
        "invoices",
        "usage",
        "usage_keys",
        "price_tables",
        "webhook_messages",
        "vendor_secrets",
        "vendors",
        "communities",
    ):
        op.execute(f"DROP TABLE IF EXISTS ledger.{table} CASCADE")
    op.execute("DROP SEQUENCE IF EXISTS ledger.usage_id_seq")
    op.execute("DROP INDEX IF EXISTS ledger.ux_firm_accounts_uscc")
    for column in ("uscc", "community_id", "city"):
        op.execute(f"ALTER TABLE ledger.firm_accounts DROP COLUMN IF EXISTS {column}")
