"""The registry's tables, all in schema ``registry``."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
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
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

metadata = MetaData(schema="registry")

communities = Table(
    "communities",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("district", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("land_use", String(32), nullable=False),
    Column("address", String(300)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    #: GB/T 2260 county-level division the building lies in (the district's own, or a member of a functional zone).
    Column("division_code", String(6)),
    Column("operator_name", String(200)),
    Column("operator_uscc", String(18)),
    UniqueConstraint("district", "name", name="uq_communities_district_name"),
)

cities = Table(
    "cities",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name_zh", String(100), nullable=False),
    Column("name_en", String(100), nullable=False),
    Column("division_code", String(6), nullable=False),
    Column("sandbox_lines", ARRAY(String(64)), nullable=False, server_default=text("'{}'")),
)

districts = Table(
    "districts",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name_zh", String(100), nullable=False),
    Column("name_en", String(100), nullable=False),
    Column("city", String(64), ForeignKey("registry.cities.code"), nullable=False),
    Column("division_code", String(6)),
    Column("member_divisions", ARRAY(String(6)), nullable=False, server_default=text("'{}'")),
)

workstations = Table(
    "workstations",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("community_id", UUID(as_uuid=True), ForeignKey("registry.communities.id"), nullable=False),
    Column("code", String(50), nullable=False),
    Column("registrable", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("community_id", "code", name="uq_workstations_community_code"),
)

#: Who sits where. A row is active while ended_at is null; at most one active row per workstation.
occupancies = Table(
    "occupancies",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("workstation_id", UUID(as_uuid=True), ForeignKey("registry.workstations.id"), nullable=False),
    Column("case_id", UUID(as_uuid=True), nullable=False),
    Column("firm_id", UUID(as_uuid=True)),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
    Index("uq_occupancies_active_workstation", "workstation_id", unique=True, postgresql_where=text("ended_at IS NULL")),
)

business_lines = Table(
    "business_lines",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name_zh", String(100), nullable=False),
    Column("name_en", String(100), nullable=False),
    Column("sandbox", Boolean, nullable=False, server_default=text("false")),
    Column("permits", ARRAY(String(32)), nullable=False, server_default=text("'{}'")),
    Column("active", Boolean, nullable=False, server_default=text("true")),
)

calendar_years = Table(
    "calendar_years",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("source", String(200), nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

#: One row per missing year whose horizon alert fired: the primary key makes it fire once across replicas.
calendar_alerts = Table(
    "calendar_alerts",
    metadata,
    Column("missing_year", Integer, primary_key=True),
    Column("fired_at", DateTime(timezone=True), nullable=False),
    Column("days_left", Integer, nullable=False),
)

calendar_days = Table(
    "calendar_days",
    metadata,
    Column("day", Date, primary_key=True),
    Column("kind", String(16), nullable=False),  # holiday | workday
    Column("name", String(100)),
)

cases = Table(
    "cases",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("district", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("founder_sub", String(200), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("owner", String(200)),
    Column("form", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("community_id", UUID(as_uuid=True)),
    Column("workstation_id", UUID(as_uuid=True)),
    Column("sandbox", Boolean, nullable=False, server_default=text("false")),
    Column("permits", ARRAY(String(32)), nullable=False, server_default=text("'{}'")),
    Column("submitted_at", DateTime(timezone=True)),
    Column("accepted_at", DateTime(timezone=True)),
    Column("licence_issued_at", DateTime(timezone=True)),
    Column("account_opened_at", DateTime(timezone=True)),
    Column("completed_at", DateTime(timezone=True)),
    Column("licence_clock", JSONB),
    #: Derived from licence_clock and the calendar (null while paused); kept so queues can filter by SLA risk.
    Column("licence_due_at", DateTime(timezone=True)),
    Column("licence_warn_at", DateTime(timezone=True)),
    Column("account_due_at", DateTime(timezone=True)),
    #: Reserved when the case is opened (every event about the firm is keyed by it); the firm exists once licensed.
    Column("firm_id", UUID(as_uuid=True), nullable=False),
    Column("version", Integer, nullable=False, server_default=text("1")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_cases_district_status", "district", "status", "created_at"),
    Index("ix_cases_district_queue", "district", "created_at", "id"),
    Index("ix_cases_founder", "founder_sub"),
)

case_steps = Table(
    "case_steps",
    metadata,
    Column("case_id", UUID(as_uuid=True), ForeignKey("registry.cases.id"), primary_key=True),
    Column("step", String(32), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("owner", String(200)),
    Column("due_at", DateTime(timezone=True)),
    Column("completed_at", DateTime(timezone=True)),
    Column("reference", String(200)),
)

case_materials = Table(
    "case_materials",
    metadata,
    Column("case_id", UUID(as_uuid=True), ForeignKey("registry.cases.id"), primary_key=True),
    Column("code", String(64), primary_key=True),
    Column("status", String(16), nullable=False),  # missing | supplied
    Column("document_ref", String(300)),
    Column("checksum", String(64)),
    Column("supplied_at", DateTime(timezone=True)),
    Column("supplied_by", String(200)),
    Column("requested_at", DateTime(timezone=True)),
    Column("reminders", ARRAY(Date), nullable=False, server_default=text("'{}'")),
    Column("reminders_sent", Integer, nullable=False, server_default=text("0")),
    Column("note", Text),
)

sub_cases = Table(
    "sub_cases",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("case_id", UUID(as_uuid=True), ForeignKey("registry.cases.id"), nullable=False, index=True),
    Column("kind", String(32), nullable=False),  # site_statement | radio_tv_production | icp_filing
    Column("status", String(16), nullable=False),
    Column("signoffs", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("simplified_review", Boolean, nullable=False, server_default=text("false")),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("referred_at", DateTime(timezone=True)),
    Column("due_at", DateTime(timezone=True)),
    Column("decided_at", DateTime(timezone=True)),
    Column("reference", String(200)),
    Column("reason", Text),
)

#: The deficiency notices (一次性告知书) as issued: numbered, dated, their words fixed in both languages.
notices = Table(
    "notices",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("case_id", UUID(as_uuid=True), ForeignKey("registry.cases.id"), nullable=False),
    Column("number", String(80), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),  # request | correction
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("deadline_at", DateTime(timezone=True), nullable=False),
    Column("reminders", ARRAY(Date), nullable=False, server_default=text("'{}'")),
    Column("items", JSONB, nullable=False),
    Index("ix_notices_case", "case_id", "issued_at"),
)

timeline = Table(
    "case_timeline",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("case_id", UUID(as_uuid=True), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("detail", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("reference", String(300)),
    Index("ix_case_timeline_case", "case_id", "id"),
)

#: One row per fired escalation step: the primary key is what makes each step fire exactly once.
sla_escalations = Table(
    "sla_escalations",
    metadata,
    Column("case_id", UUID(as_uuid=True), primary_key=True),
    Column("clock", String(16), primary_key=True),
    Column("step", String(32), primary_key=True),
    Column("fired_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
)

firms = Table(
    "firms",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("district", String(64), nullable=False),
    Column("community", String(200)),
    Column("founder_name", String(100), nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("uscc", String(18)),
    Column("case_id", UUID(as_uuid=True)),
    Column("registered_address", String(300)),
    Column("business_lines", ARRAY(String(64)), nullable=False, server_default=text("'{}'")),
    Column("status", String(16), nullable=False, server_default=text("'operating'")),
    Column("status_since", Date),
    Index("ix_firms_district_created", "district", "created_at"),
    UniqueConstraint("uscc", name="uq_firms_uscc"),
)

firm_status_history = Table(
    "firm_status_history",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("firm_id", UUID(as_uuid=True), ForeignKey("registry.firms.id"), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("effective_date", Date, nullable=False),
    Column("reason", Text),
    Column("recorded_by", String(200), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
