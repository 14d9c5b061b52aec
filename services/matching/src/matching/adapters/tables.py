"""The matching service's tables, all in schema ``matching``."""

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
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = MetaData(schema="matching")

supplier_profiles = Table(
    "supplier_profiles",
    metadata,
    Column("firm_id", UUID(as_uuid=True), primary_key=True),
    Column("firm_name", String(200), nullable=False),
    Column("district", String(64), nullable=False),
    Column("community", String(200)),
    Column("status", String(20), nullable=False),  # registry status: active (operating), suspended, deregistered
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("community_id", UUID(as_uuid=True)),
    Column("business_lines", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("capabilities", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("description", Text, nullable=False, server_default=""),
    Column("portfolio_links", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("capacity", Integer, nullable=False, server_default="1"),
    Column("active_engagements", Integer, nullable=False, server_default="0"),
    Column("price_min_fen", BigInteger),
    Column("price_max_fen", BigInteger),
    Column("available", Boolean, nullable=False, server_default=text("true")),
    Column("rating_sum", Integer, nullable=False, server_default="0"),
    Column("rating_count", Integer, nullable=False, server_default="0"),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("completed_at", DateTime(timezone=True)),
    #: Set by the database on every change (clock_timestamp()); replicas refresh their index from it.
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=func.clock_timestamp()),
    Index("ix_supplier_profiles_district_opened", "district", "opened_at"),
    Index("ix_supplier_profiles_changed_at", "changed_at"),
)

communities = Table(
    "communities",
    metadata,
    Column("community_id", UUID(as_uuid=True), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("district", String(64), nullable=False),
    Column("city", String(64), nullable=False),
)

demands = Table(
    "demands",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("owner_sub", String(200), nullable=False),
    Column("owner_name", String(200), nullable=False),
    Column("district", String(64), nullable=False),  # the owner's district: whose staff see it
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("sector", String(64), nullable=False),
    Column("capabilities", JSONB, nullable=False),  # {code: weight}
    Column("budget_min_fen", BigInteger),
    Column("budget_max_fen", BigInteger),
    Column("deadline", Date),
    Column("location_district", String(64)),  # None: anywhere
    Column("team_allowed", Boolean, nullable=False, server_default=text("false")),
    Column("status", String(20), nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("firm_id", UUID(as_uuid=True)),  # the supplier (lead) once matched
    Column("member_firm_ids", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("dispatch_round", Integer, nullable=False, server_default="0"),
    Column("dispatch_fan_out", Integer, nullable=False, server_default="3"),
    Column("dispatch_timeout_s", Integer, nullable=False, server_default="900"),
    Column("actual_investment_fen", BigInteger),
    Column("rating", Integer),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("published_at", DateTime(timezone=True)),
    Column("completed_at", DateTime(timezone=True)),
    CheckConstraint("budget_min_fen IS NULL OR budget_max_fen IS NULL OR budget_min_fen <= budget_max_fen", name="budget_order"),
    Index("ix_demands_district_created", "district", "created_at"),
    Index("ix_demands_owner", "owner_sub", "created_at"),
)

offers = Table(
    "offers",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("demand_id", UUID(as_uuid=True), ForeignKey("demands.id"), nullable=False),
    Column("firm_id", UUID(as_uuid=True), nullable=False),
    Column("round", Integer, nullable=False),
    Column("rank", Integer, nullable=False),
    Column("score", String(20), nullable=False),
    Column("status", String(20), nullable=False),  # offered, accepted, declined, expired, withdrawn
    Column("offered_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("answered_at", DateTime(timezone=True)),
    Column("reason", String(500)),
    UniqueConstraint("demand_id", "firm_id", name="uq_offers_demand_firm"),
    Index("ix_offers_firm", "firm_id", "offered_at"),
    Index("ix_offers_pending_expiry", "expires_at", postgresql_where=text("status = 'offered'")),
)

timeline = Table(
    "demand_timeline",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("demand_id", UUID(as_uuid=True), ForeignKey("demands.id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("detail", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Index("ix_demand_timeline_demand", "demand_id", "id"),
)

exposures = Table(
    "exposures",
    metadata,
    Column("firm_id", UUID(as_uuid=True), nullable=False),
    Column("demand_id", UUID(as_uuid=True), nullable=False),
    Column("kind", String(10), nullable=False),  # shown, offered
    Column("district", String(64), nullable=False),  # the supplier's district, for per-district figures
    Column("at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("firm_id", "demand_id", "kind", name="uq_exposures_once_per_demand"),
    Index("ix_exposures_at", "at"),
)

roadshows = Table(
    "roadshows",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("district", String(64), nullable=False),
    Column("title", String(200), nullable=False),
    Column("demand_id", UUID(as_uuid=True), ForeignKey("demands.id"), nullable=False),
    Column("firm_ids", JSONB, nullable=False),
    Column("agenda", JSONB, nullable=False),
    Column("held_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

nominations = Table(
    "nominations",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("demand_id", UUID(as_uuid=True), ForeignKey("demands.id"), nullable=False, unique=True),
    Column("year", Integer, nullable=False),
    Column("city", String(64), nullable=False),
    Column("district", String(64), nullable=False),
    Column("firm_id", UUID(as_uuid=True), nullable=False),
    Column("status", String(20), nullable=False),  # nominated, selected
    Column("nominated_by", String(200), nullable=False),
    Column("nominated_at", DateTime(timezone=True), nullable=False),
    Column("selected_at", DateTime(timezone=True)),
    Index("ix_nominations_year", "city", "year", "status"),
)

#: One row per city and year: the selection is made once (≤ 20 in Chengdu), under a row lock.
selection_years = Table(
    "selection_years",
    metadata,
    Column("city", String(64), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("selected", Integer, nullable=False, server_default="0"),
)
