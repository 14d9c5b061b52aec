"""The matching service's tables, all in schema ``matching``."""

from sqlalchemy import Column, DateTime, Index, MetaData, String, Table, func
from sqlalchemy.dialects.postgresql import UUID

metadata = MetaData(schema="matching")

supplier_profiles = Table(
    "supplier_profiles",
    metadata,
    Column("firm_id", UUID(as_uuid=True), primary_key=True),
    Column("firm_name", String(200), nullable=False),
    Column("district", String(64), nullable=False),
    Column("community", String(200)),
    Column("status", String(20), nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_supplier_profiles_district_opened", "district", "opened_at"),
)
