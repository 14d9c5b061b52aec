"""Watches the calendar cliff: the State Council publishes next year's schedule late in the year, and
from then until someone loads it every deadline reaching into that year is refused (rightly).
This makes the cliff visible weeks before: a gauge, a readiness warning and one event per year."""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from prometheus_client import Gauge
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from opc_shared.clock import SHANGHAI, Clock
from opc_shared.contracts.registry import CalendarHorizonLowV1
from opc_shared.db import Database
from registry.adapters import tables as t
from registry.domain.calendar import HORIZON_WARNING_DAYS, Horizon, horizon

log = structlog.get_logger("registry.calendar")
DAYS_LEFT = Gauge(
    "registry_calendar_days_left",
    "Days after today (Asia/Shanghai) that the loaded working-day calendar still answers for",
)


async def current_horizon(db: Database, clock: Clock) -> Horizon:
    async with db.sessionmaker() as session:
        years = (await session.execute(select(t.calendar_years.c.year))).scalars().all()
    found = horizon(years, clock.now().astimezone(SHANGHAI).date())
    DAYS_LEFT.set(found.days_left)
    return found


async def check_once(db: Database, clock: Clock) -> Horizon:
    """Update the gauge; when the horizon is low, publish the alert once for the missing year."""
    now = clock.now()
    async with db.uow() as uow:
        years = (await uow.session.execute(select(t.calendar_years.c.year))).scalars().all()
        found = horizon(years, now.astimezone(SHANGHAI).date())
        DAYS_LEFT.set(found.days_left)
        if found.low:
            inserted = (
                await uow.session.execute(
                    pg_insert(t.calendar_alerts)
                    .values(missing_year=found.missing_year, fired_at=now, days_left=found.days_left)
                    .on_conflict_do_nothing()
                    .returning(t.calendar_alerts.c.missing_year)
                )
            ).first()
            if inserted is not None:
                uow.publish(
                    CalendarHorizonLowV1(
                        missing_year=found.missing_year,
                        last_loaded_day=found.last_day,
                        days_left=found.days_left,
                        threshold_days=HORIZON_WARNING_DAYS,
                        detected_at=now,
                    )
                )
                log.warning("calendar.horizon_low", missing_year=found.missing_year, days_left=found.days_left)
        await uow.commit()
    return found


async def readiness_warnings(db: Database, clock: Clock) -> dict[str, str]:
    """Not a reason to take the service out of rotation: everything before the cliff still works."""
    found = await current_horizon(db, clock)
    if not found.low:
        return {}
    ends = f"ends {found.last_day.isoformat()}" if found.last_day else "does not cover this year"
    return {
        "calendar": f"the working-day calendar {ends} ({found.days_left} days left); "
        f"load the State Council's {found.missing_year} schedule with PUT /v1/calendar/{found.missing_year}"
    }


async def run(db: Database, stop: asyncio.Event, clock: Clock) -> None:
    while not stop.is_set():
        try:
            await check_once(db, clock)
        except Exception:  # retried next round; the readiness check reports the horizon regardless
            log.exception("calendar.watch_failed")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), db.settings.job_interval_s)
