"""The subsidy service's own copy of the registry's reference data: the official calendar and which
city each district is in, kept from the registry's events (never read from its schema)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from opc_shared.clock import SHANGHAI
from opc_shared.contracts.registry import CalendarYearLoadedV1
from opc_shared.db import Work
from subsidy.adapters.tables import calendar_years, claims, district_cities
from subsidy.domain.calendar import CalendarNotLoaded, WorkingDays


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
    await date_waiting_claims(work)


async def date_waiting_claims(work: Work) -> None:
    """Claims filed while their year's calendar was missing get their review due date now."""
    from subsidy.service import policies  # here: policies → entitlements → calendar would loop

    days = await working_days(work)
    waiting = await work.session.execute(
        select(claims.c.id, claims.c.submitted_at, claims.c.policy_version_id).where(
            claims.c.status.in_(("submitted", "under_review")), claims.c.review_due_on.is_(None)
        )
    )
    for claim_id, submitted_at, version_id in waiting.all():
        policy = await policies.policy_by_id(work.session, version_id)
        try:
            due = days.add(submitted_at.astimezone(SHANGHAI).date(), policy.review_working_days)
        except CalendarNotLoaded:
            continue
        await work.session.execute(update(claims).where(claims.c.id == claim_id).values(review_due_on=due))


async def store_district_city(work: Work, district: str, city: str) -> None:
    """Reference data the registry publishes with each community: which city a district is in."""
    stmt = insert(district_cities).values(district=district, city=city)
    await work.session.execute(stmt.on_conflict_do_update(index_elements=["district"], set_={"city": stmt.excluded.city}))


async def working_days(work: Work) -> WorkingDays:
    rows = await work.session.execute(select(calendar_years))
    return WorkingDays((r.year, r.holidays, r.adjusted_working_days) for r in rows)
