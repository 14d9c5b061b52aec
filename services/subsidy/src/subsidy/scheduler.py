"""The claim review SLA ladder: a warning one working day before the due date, a breach after it.

Each step fires once however many replicas run this: the claim's ``sla_*_at`` column is set by a
conditional UPDATE (``… WHERE sla_breached_at IS NULL``) in the same transaction as the event.
Claims filed before the year's calendar reached us get their due date when it arrives
(:func:`subsidy.service.calendar.store_year`)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

import structlog
from sqlalchemy import exists, select, update

from opc_shared.clock import SHANGHAI, Clock
from opc_shared.db import Database
from subsidy.adapters.tables import accounts, claims, entitlements
from subsidy.domain.calendar import CalendarNotLoaded
from subsidy.domain.claims import ReviewClock
from subsidy.service import calendar
from subsidy.service import entitlements as entitlements_service

log = structlog.get_logger("subsidy.sla")
OPEN = ("submitted", "under_review")


async def review_sla_once(db: Database, clock: Clock) -> int:
    now: datetime = clock.now()
    today = now.astimezone(SHANGHAI).date()
    fired = 0
    async with db.uow() as uow:
        work = uow.work()
        try:
            tomorrow = (await calendar.working_days(work)).add(today, 1)
        except CalendarNotLoaded:
            tomorrow = None
        steps = [("sla_breached_at", claims.c.review_due_on < today, ReviewClock.breach)]
        if tomorrow is not None:
            steps.append(("sla_warned_at", claims.c.review_due_on <= tomorrow, ReviewClock.warn))
        for column, due, step in steps:
            rows = (
                await uow.session.execute(
                    update(claims)
                    .where(claims.c.status.in_(OPEN), claims.c.review_due_on.isnot(None), due, claims.c[column].is_(None))
                    .values({column: now})
                    .returning(claims)
                )
            ).mappings()
            for row in rows:
                clock_ = uow.track(
                    ReviewClock(
                        claim_id=row["id"],
                        recipient_kind=row["recipient_kind"],
                        recipient_id=row["recipient_id"],
                        district=row["district"],
                        programme=row["programme"],
                        due_on=row["review_due_on"],
                        owner=row["reviewer"],
                    )
                )
                step(clock_, now)
                fired += 1
        await uow.commit()
    return fired


async def graduate_accrual_once(db: Database, clock: Clock, batch: int = 500) -> int:
    """Months of operation pass without any event: graduate founders' tiers are refreshed daily.

    A firm is refreshed at most once per Shanghai day (the row's ``updated_at``), in batches."""
    now = clock.now()
    today = now.astimezone(SHANGHAI).date()
    start_of_day = datetime.combine(today, datetime.min.time(), tzinfo=SHANGHAI)
    refreshed = 0
    async with db.uow() as uow:
        stale = (
            (
                await uow.session.execute(
                    select(accounts.c.firm_id)
                    .where(
                        accounts.c.founder_is_graduate.is_(True),
                        accounts.c.status != "deregistered",
                        ~exists().where(
                            entitlements.c.firm_id == accounts.c.firm_id,
                            entitlements.c.programme == "graduate_founder",
                            entitlements.c.year == today.year,
                            entitlements.c.updated_at >= start_of_day,
                        ),
                    )
                    .limit(batch)
                )
            )
            .scalars()
            .all()
        )
        for firm_id in stale:
            await entitlements_service.refresh_graduate(uow.work(), firm_id, today, now)
            refreshed += 1
        await uow.commit()
    return refreshed


async def run(db: Database, stop: asyncio.Event, clock: Clock) -> None:
    while not stop.is_set():
        for name, step in (("sla", review_sla_once), ("graduate", graduate_accrual_once)):
            try:
                await step(db, clock)
            except Exception:  # retried next round; never kills the worker
                log.exception("job.round_failed", step=name)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), db.settings.job_interval_s)
