"""The subsidy service's own copy of the official calendar, kept from the registry's events."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from opc_shared.contracts.registry import CalendarYearLoadedV1
from opc_shared.db import Work
from subsidy.adapters.tables import calendar_years
from subsidy.domain.calendar import WorkingDays


async def store_year(work: Work, e: CalendarYearLoadedV1) -> None:
    """A later event for the same year replaces the earlier one (unless it is older)."""
    values = dict(year=e.year, holidays=e.holidays, adjusted_working_days=e.adjusted_working_days, loaded_at=e.loaded_at)
    stmt = insert(calendar_years).values(**values)
    await work.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["year"],
            set_={k: stmt.excluded[k] for k in ("holidays", "adjusted_working_days", "loaded_at")},
            where=calendar_years.c.loaded_at <= stmt.excluded.loaded_at,
        )
    )


async def working_days(work: Work) -> WorkingDays:
    rows = await work.session.execute(select(calendar_years))
    return WorkingDays((r.year, r.holidays, r.adjusted_working_days) for r in rows)
