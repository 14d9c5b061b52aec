"""seed the business-line catalogue and the 2026 working-day calendar

Revision ID: 0003
Revises: 0002

The calendar comes from the chinese-calendar package (the State Council's notice for 2026);
admins load later years through the API as each notice is published.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from registry.domain.calendar import seed_entries
from registry.domain.catalogue import DEFAULT_BUSINESS_LINES

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "registry"
YEARS = (2026,)


def upgrade() -> None:
    lines = sa.table(
        "business_lines",
        sa.column("code", sa.String),
        sa.column("name_zh", sa.String),
        sa.column("name_en", sa.String),
        sa.column("sandbox", sa.Boolean),
        sa.column("permits", pg.ARRAY(sa.String)),
        schema=SCHEMA,
    )
    op.bulk_insert(
        lines,
        [
            {
                "code": b.code,
                "name_zh": b.name_zh,
                "name_en": b.name_en,
                "sandbox": b.sandbox,
                "permits": [p.value for p in b.permits],
            }
            for b in DEFAULT_BUSINESS_LINES
        ],
    )
    days = sa.table(
        "calendar_days", sa.column("day", sa.Date), sa.column("kind", sa.String), sa.column("name", sa.String), schema=SCHEMA
    )
    years = sa.table("calendar_years", sa.column("year", sa.Integer), sa.column("source", sa.String), schema=SCHEMA)
    for year in YEARS:
        entries = seed_entries(year)
        op.bulk_insert(days, [{"day": d, "kind": e.kind.value, "name": e.name} for d, e in sorted(entries.items())])
        op.bulk_insert(years, [{"year": year, "source": "chinese-calendar package (State Council notice)"}])


def downgrade() -> None:
    op.execute(f"DELETE FROM {SCHEMA}.calendar_days WHERE EXTRACT(YEAR FROM day) IN ({', '.join(map(str, YEARS))})")
    op.execute(f"DELETE FROM {SCHEMA}.calendar_years WHERE year IN ({', '.join(map(str, YEARS))})")
    op.execute(f"DELETE FROM {SCHEMA}.business_lines WHERE code IN ({', '.join(repr(b.code) for b in DEFAULT_BUSINESS_LINES)})")
