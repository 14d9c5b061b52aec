"""district catalogue: cities, districts with GB/T 2260 division codes, per-city sandbox lines;
communities carry their division and operator

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from registry.domain.districts import CITIES, DISTRICTS

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SCHEMA = "registry"


def upgrade() -> None:
    op.create_table(
        "cities",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("name_zh", sa.String(100), nullable=False),
        sa.Column("name_en", sa.String(100), nullable=False),
        sa.Column("division_code", sa.String(6), nullable=False),
        sa.Column("sandbox_lines", pg.ARRAY(sa.String(64)), server_default=sa.text("'{}'"), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "districts",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("name_zh", sa.String(100), nullable=False),
        sa.Column("name_en", sa.String(100), nullable=False),
        sa.Column("city", sa.String(64), sa.ForeignKey(f"{SCHEMA}.cities.code"), nullable=False),
        sa.Column("division_code", sa.String(6)),
        sa.Column("member_divisions", pg.ARRAY(sa.String(6)), server_default=sa.text("'{}'"), nullable=False),
        schema=SCHEMA,
    )
    for column in (
        sa.Column("division_code", sa.String(6)),
        sa.Column("operator_name", sa.String(200)),
        sa.Column("operator_uscc", sa.String(18)),
    ):
        op.add_column("communities", column, schema=SCHEMA)
    cities = sa.table(
        "cities",
        sa.column("code", sa.String),
        sa.column("name_zh", sa.String),
        sa.column("name_en", sa.String),
        sa.column("division_code", sa.String),
        sa.column("sandbox_lines", pg.ARRAY(sa.String)),
        schema=SCHEMA,
    )
    op.bulk_insert(
        cities,
        [
            {
                "code": c.code,
                "name_zh": c.name_zh,
                "name_en": c.name_en,
                "division_code": c.division_code,
                "sandbox_lines": list(c.sandbox_lines),
            }
            for c in CITIES
        ],
    )
    districts = sa.table(
        "districts",
        sa.column("code", sa.String),
        sa.column("name_zh", sa.String),
        sa.column("name_en", sa.String),
        sa.column("city", sa.String),
        sa.column("division_code", sa.String),
        sa.column("member_divisions", pg.ARRAY(sa.String)),
        schema=SCHEMA,
    )
    op.bulk_insert(
        districts,
        [
            {
                "code": d.code,
                "name_zh": d.name_zh,
                "name_en": d.name_en,
                "city": d.city,
                "division_code": d.division_code,
                "member_divisions": list(d.member_divisions),
            }
            for d in DISTRICTS
        ],
    )
    # Communities created before the catalogue take their district's own division where it has one.
    op.execute(
        f"UPDATE {SCHEMA}.communities c SET division_code = d.division_code FROM {SCHEMA}.districts d "
        "WHERE d.code = c.district AND d.division_code IS NOT NULL"
    )


def downgrade() -> None:
    for column in ("operator_uscc", "operator_name", "division_code"):
        op.drop_column("communities", column, schema=SCHEMA)
    op.drop_table("districts", schema=SCHEMA)
    op.drop_table("cities", schema=SCHEMA)
