"""The registry's tables, all in schema ``registry``."""

from sqlalchemy import Column, DateTime, Index, Integer, MetaData, String, Table, func
from sqlalchemy.dialects.postgresql import UUID

metadata = MetaData(schema="registry")

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
    Index("ix_firms_district_created", "district", "created_at"),
)
