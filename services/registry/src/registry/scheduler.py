"""SLA escalation ladder: warn at 1 working day left, escalate at due, escalate again a day later.

Each step fires exactly once however many replicas run this: cases are claimed with
FOR UPDATE SKIP LOCKED, fired steps are read after the claim, and the primary key of
sla_escalations refuses a second row, with the event written in the same transaction."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

import structlog
from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from opc_shared.clock import SHANGHAI, Clock
from opc_shared.contracts import registry as ev
from opc_shared.db import Database, UnitOfWork
from opc_shared.times import rfc3339
from registry.adapters import tables as t
from registry.adapters.repository import load_calendar, load_case
from registry.domain.calendar import CalendarNotLoaded
from registry.domain.case import Case
from registry.domain.sla import STANDARD_LADDER, due_steps, step_moment

log = structlog.get_logger("registry.sla")
EVENTS = {"warn": ev.SlaWarningV1, "escalate": ev.SlaBreachedV1, "escalate_again": ev.SlaEscalatedV1}
ACCOUNT_LADDER = (("warn", timedelta(days=-1)), ("escalate", timedelta(0)), ("escalate_again", timedelta(days=1)))


async def escalate_once(db: Database, clock: Clock, batch: int = 200) -> int:
    """Fire every step that is due now; returns how many fired."""
    now = clock.now()
    c = t.cases
    fired = 0
    async with db.uow() as uow:
        calendar = await load_calendar(uow.session)
        candidates = (
            (
                await uow.session.execute(
                    select(c.c.id)
                    .where(
                        or_(
                            and_(c.c.status.in_(("accepted", "correction")), c.c.licence_warn_at <= now),
                            and_(
                                c.c.status.in_(("accepted", "correction", "licensed")),
                                c.c.account_opened_at.is_(None),
                                c.c.account_due_at <= now + timedelta(days=1),
                            ),
                        )
                    )
                    .order_by(c.c.accepted_at)
                    .limit(batch)
                    .with_for_update(skip_locked=True)
                )
            )
            .scalars()
            .all()
        )
        for case_id in candidates:
            case = await load_case(uow.session, case_id)
            assert case is not None
            done = {
                (row.clock, row.step)
                for row in (
                    await uow.session.execute(
                        select(t.sla_escalations.c.clock, t.sla_escalations.c.step).where(t.sla_escalations.c.case_id == case_id)
                    )
                ).all()
            }
            if case.licence_clock is not None and case.licence_issued_at is None:
                try:
                    steps = due_steps(case.licence_clock, calendar, now, {s for clk, s in done if clk == "licence"})
                    due = step_moment(STANDARD_LADDER.steps[1], case.licence_clock, calendar)
                except CalendarNotLoaded as exc:
                    log.error("sla.calendar_not_loaded", case_id=str(case_id), year=exc.year)
                    steps, due = [], None
                for step in steps:
                    fired += await _fire(uow, case, "licence", step, due, now)
            if case.account_due_at is not None and case.account_opened_at is None:
                for step, offset in ACCOUNT_LADDER:
                    if case.account_due_at + offset <= now and ("account", step) not in done:
                        fired += await _fire(uow, case, "account", step, case.account_due_at, now)
        await uow.commit()
    return fired


async def remind_once(db: Database, clock: Clock, batch: int = 500) -> int:
    """Send each missing item's scheduled reminders until it is supplied; one event per case and round."""
    now = clock.now()
    today = now.astimezone(SHANGHAI).date()
    m = t.case_materials
    sent = 0
    async with db.uow() as uow:
        due = (
            await uow.session.execute(
                select(m.c.case_id, m.c.code, m.c.reminders_sent)
                .join(t.cases, t.cases.c.id == m.c.case_id)
                .where(
                    m.c.status == "missing",
                    t.cases.c.status.in_(("awaiting_materials", "correction")),
                    func.cardinality(m.c.reminders) > m.c.reminders_sent,
                    m.c.reminders[m.c.reminders_sent + 1] <= today,
                )  # Postgres arrays are 1-based
                .order_by(m.c.case_id)
                .limit(batch)
                .with_for_update(of=m, skip_locked=True)
            )
        ).all()
        by_case: dict = {}
        for row in due:
            by_case.setdefault(row.case_id, []).append(row)
        for case_id, rows in by_case.items():
            case = await load_case(uow.session, case_id)
            assert case is not None
            for row in rows:
                await uow.session.execute(
                    update(m).where(m.c.case_id == case_id, m.c.code == row.code).values(reminders_sent=m.c.reminders_sent + 1)
                )
            number = max(r.reminders_sent for r in rows) + 1
            items = sorted(r.code for r in rows)
            uow.publish(
                ev.MaterialsReminderV1(
                    case_id=case_id,
                    district=case.district,
                    items=items,
                    reminder_no=number,
                    founder_account=case.founder_sub,
                    reminded_at=now,
                )
            )
            await uow.session.execute(
                insert(t.timeline).values(
                    case_id=case_id,
                    at=now,
                    actor="reminder-scheduler",
                    action="materials_reminded",
                    detail={"items": items, "reminder_no": number},
                )
            )
            sent += 1
        await uow.commit()
    return sent


async def _fire(uow: UnitOfWork, case: Case, clock_name: str, step: str, due: datetime | None, now: datetime) -> int:
    row = (
        await uow.session.execute(
            pg_insert(t.sla_escalations)
            .values(case_id=case.id, clock=clock_name, step=step, fired_at=now, due_at=due or now)
            .on_conflict_do_nothing()
            .returning(t.sla_escalations.c.step)
        )
    ).first()
    if row is None:
        return 0
    uow.publish(
        EVENTS[step](
            case_id=case.id, district=case.district, clock=clock_name, step=step, due_at=due, fired_at=now, owner=case.owner
        )
    )
    await uow.session.execute(
        insert(t.timeline).values(
            case_id=case.id,
            at=now,
            actor="sla-scheduler",
            action=f"sla_{step}",
            detail={"clock": clock_name, "due_at": rfc3339(due) if due else None},
        )
    )
    log.info("sla.fired", case_id=str(case.id), clock=clock_name, step=step)
    return 1


async def run(db: Database, stop: asyncio.Event, clock: Clock) -> None:
    while not stop.is_set():
        try:
            await escalate_once(db, clock)
            await remind_once(db, clock)
        except Exception:  # a bad case must not stop the ladder for the others; logged, retried next round
            log.exception("sla.round_failed")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), db.settings.job_interval_s)
