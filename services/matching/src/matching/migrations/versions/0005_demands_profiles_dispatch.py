"""completed supplier profiles, communities, demands, offers, timeline, exposures, roadshows, nominations

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SCHEMA = "matching"
UUID = pg.UUID(as_uuid=True)
JSONB = pg.JSONB
EMPTY_LIST = sa.text("'[]'::jsonb")


def upgrade() -> None:
    for column in (
        sa.Column("community_id", UUID),
        sa.Column("business_lines", JSONB, nullable=False, server_default=EMPTY_LIST),
        sa.Column("capabilities", JSONB, nullable=False, server_default=EMPTY_LIST),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("portfolio_links", JSONB, nullable=False, server_default=EMPTY_LIST),
        sa.Column("capacity", sa.Integer, nullable=False, server_default="1"),
        sa.Column("active_engagements", sa.Integer, nullable=False, server_default="0"),
        sa.Column("price_min_fen", sa.BigInteger),
        sa.Column("price_max_fen", sa.BigInteger),
        sa.Column("available", sa.Boolean, nullable=False, server_default=sa.text("true")),
        sa.Column("rating_sum", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rating_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.clock_timestamp()),
    ):
        op.add_column("supplier_profiles", column, schema=SCHEMA)
    op.create_index("ix_supplier_profiles_changed_at", "supplier_profiles", ["changed_at"], schema=SCHEMA)
    op.create_table(
        "communities",
        sa.Column("community_id", UUID, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("district", sa.String(64), nullable=False),
        sa.Column("city", sa.String(64), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "demands",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("owner_sub", sa.String(200), nullable=False),
        sa.Column("owner_name", sa.String(200), nullable=False),
        sa.Column("district", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("sector", sa.String(64), nullable=False),
        sa.Column("capabilities", JSONB, nullable=False),
        sa.Column("budget_min_fen", sa.BigInteger),
        sa.Column("budget_max_fen", sa.BigInteger),
        sa.Column("deadline", sa.Date),
        sa.Column("location_district", sa.String(64)),
        sa.Column("team_allowed", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("firm_id", UUID),
        sa.Column("member_firm_ids", JSONB, nullable=False, server_default=EMPTY_LIST),
        sa.Column("dispatch_round", sa.Integer, nullable=False, server_default="0"),
        sa.Column("dispatch_fan_out", sa.Integer, nullable=False, server_default="3"),
        sa.Column("dispatch_timeout_s", sa.Integer, nullable=False, server_default="900"),
        sa.Column("actual_investment_fen", sa.BigInteger),
        sa.Column("rating", sa.Integer),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "budget_min_fen IS NULL OR budget_max_fen IS NULL OR budget_min_fen <= budget_max_fen", name="budget_order"
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_demands_district_created", "demands", ["district", "created_at"], schema=SCHEMA)
    op.create_index("ix_demands_owner", "demands", ["owner_sub", "created_at"], schema=SCHEMA)
    op.create_table(
        "offers",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("demand_id", UUID, sa.ForeignKey(f"{SCHEMA}.demands.id"), nullable=False),
        sa.Column("firm_id", UUID, nullable=False),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("score", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
        sa.Column("reason", sa.String(500)),
        sa.UniqueConstraint("demand_id", "firm_id", name="uq_offers_demand_firm"),
        schema=SCHEMA,
    )
    op.create_index("ix_offers_firm", "offers", ["firm_id", "offered_at"], schema=SCHEMA)
    op.create_index(
        "ix_offers_pending_expiry", "offers", ["expires_at"], schema=SCHEMA, postgresql_where=sa.text("status = 'offered'")
    )
    op.create_table(
        "demand_timeline",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("demand_id", UUID, sa.ForeignKey(f"{SCHEMA}.demands.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("detail", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        schema=SCHEMA,
    )
    op.create_index("ix_demand_timeline_demand", "demand_timeline", ["demand_id", "id"], schema=SCHEMA)
    op.create_table(
        "exposures",
        sa.Column("firm_id", UUID, nullable=False),
        sa.Column("demand_id", UUID, nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("district", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("firm_id", "demand_id", "kind", name="uq_exposures_once_per_demand"),
        schema=SCHEMA,
    )
    op.create_index("ix_exposures_at", "exposures", ["at"], schema=SCHEMA)
    op.create_table(
        "roadshows",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("district", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("demand_id", UUID, sa.ForeignKey(f"{SCHEMA}.demands.id"), nullable=False),
        sa.Column("firm_ids", JSONB, nullable=False),
        sa.Column("agenda", JSONB, nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "nominations",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("demand_id", UUID, sa.ForeignKey(f"{SCHEMA}.demands.id"), nullable=False, unique=True),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("city", sa.String(64), nullable=False),
        sa.Column("district", sa.String(64), nullable=False),
        sa.Column("firm_id", UUID, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("nominated_by", sa.String(200), nullable=False),
        sa.Column("nominated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("selected_at", sa.DateTime(timezone=True)),
        schema=SCHEMA,
    )
    op.create_index("ix_nominations_year", "nominations", ["city", "year", "status"], schema=SCHEMA)
    op.create_table(
        "selection_years",
        sa.Column("city", sa.String(64), primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("selected", sa.Integer, nullable=False, server_default="0"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in (
        "selection_years",
        "nominations",
        "roadshows",
        "exposures",
        "demand_timeline",
        "offers",
        "demands",
        "communities",
    ):
        op.drop_table(table, schema=SCHEMA)
    op.drop_index("ix_supplier_profiles_changed_at", "supplier_profiles", schema=SCHEMA)
    for column in (
        "changed_at",
        "completed_at",
        "version",
        "rating_count",
        "rating_sum",
        "available",
        "price_max_fen",
        "price_min_fen",
        "active_engagements",
        "capacity",
        "portfolio_links",
        "description",
        "capabilities",
        "business_lines",
        "community_id",
    ):
        op.drop_column("supplier_profiles", column, schema=SCHEMA)
