"""SLA escalation ladder: warn at 1 working day left, escalate at due, escalate again a day later.

Only cases with a step due and not fired are picked, so cases whose ladder has fully fired
never crowd out new ones. Each case is escalated in its own transaction, so one bad case
cannot roll back the others. Each step fires exactly once however many replicas run this:
a case is claimed with FOR UPDATE SKIP LOCKED, fired steps are read after the claim, and the
primary key of sla_escalations refuses a second row, with the event written in the same
transaction."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import date, datetime, timedelta

import structlog
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from opc_shared.clock import SHANGHAI, Clock
from opc_shared.db import Database
from registry.adapters import tables as t
from registry.adapters.repository import CaseRepository, clock_from_json, load_calendar
from registry.domain.calendar import CalendarNotLoaded, WorkingCalendar
from registry.domain.sla import STANDARD_LADDER, SlaClock, due_steps, step_moment

log = structlog.get_logger("registry.sla")
ACCOUNT_LADDER = (("warn", timedelta(days=-1)), ("escalate", timedelta(0)), ("escalate_again", timedelta(days=1)))


async def escalate_once(db: Database, clock: Clock, batch: int = 200) -> int:
    """Fire every step that is due now, each case in its own transaction; returns how many fired."""
    now = clock.now()
    async with db.sessionmaker() as session:
        calendar = await load_calendar(session)
        candidates = await _cases_with_a_step_due(session, calendar, now, batch)
    fired = 0
    for case_id in candidates:
        try:
            fired += await _escalate_case(db, case_id, calendar, now)
        except Exception:  # one bad case must not hold back the others; it is retried next round
            log.exception("sla.case_failed", case_id=str(case_id))
    return fired


async def _cases_with_a_step_due(session: AsyncSession, calendar: WorkingCalendar, now: datetime, batch: int) -> list[uuid.UUID]:
    """Up to ``batch`` cases, oldest first, with at least one step due and not fired.

    SQL narrows to cases with an unfired step whose stored moment has come (the second licence
    escalation is one working day after due, so at least a calendar day); the ladder itself
    then decides. A case whose ladder has fully fired is never selected again, however old."""
    c, e = t.cases, t.sla_escalations

    def unfired(clock_name: str, step: str):
        return ~exists().where(e.c.case_id == c.c.id, e.c.clock == clock_name, e.c.step == step)

    licence = and_(
        c.c.status.in_(("accepted", "correction")),
        or_(
            and_(c.c.licence_warn_at <= now, unfired("licence", "warn")),
            and_(c.c.licence_due_at <= now, unfired("licence", "escalate")),
            and_(c.c.licence_due_at <= now - timedelta(days=1), unfired("licence", "escalate_again")),
        ),
    )
    account = and_(
        c.c.status.in_(("accepted", "correction", "licensed")),
        c.c.account_opened_at.is_(None),
        or_(*(and_(c.c.account_due_at + offset <= now, unfired("account", step)) for step, offset in ACCOUNT_LADDER)),
    )
    fired = select(func.array_agg(func.concat(e.c.clock, ":", e.c.step))).where(e.c.case_id == c.c.id).scalar_subquery()
    rows = await session.execute(
        select(c.c.id, c.c.licence_clock, c.c.licence_issued_at, c.c.account_due_at, c.c.account_opened_at, fired.label("done"))
        .where(or_(licence, account))
        .order_by(c.c.accepted_at, c.c.id)
    )
    due = []
    for row in rows:
        done = {tuple(item.split(":", 1)) for item in row.done or ()}
        try:
            licence_clock = clock_from_json(row.licence_clock)
            steps = _due_steps(
                licence_clock, row.licence_issued_at, row.account_due_at, row.account_opened_at, done, calendar, now
            )
        except CalendarNotLoaded as exc:
            log.error("sla.calendar_not_loaded", case_id=str(row.id), year=exc.year)
            continue
        except Exception:  # a case that cannot be read is reported, and the others go on
            log.exception("sla.case_unreadable", case_id=str(row.id))
            continue
        if steps:
            due.append(row.id)
            if len(due) == batch:
                break
    return due


def _due_steps(
    licence_clock: SlaClock | None,
    licence_issued_at: datetime | None,
    account_due_at: datetime | None,
    account_opened_at: datetime | None,
    done: set[tuple[str, str]],
    calendar: WorkingCalendar,
    now: datetime,
) -> list[tuple[str, str]]:
    """(clock, step) pairs due now and not yet fired."""
    steps: list[tuple[str, str]] = []
    if licence_clock is not None and licence_issued_at is None:
        fired = {step for clock_name, step in done if clock_name == "licence"}
        steps += [("licence", step) for step in due_steps(licence_clock, calendar, now, fired)]
    if account_due_at is not None and account_opened_at is None:
        steps += [
            ("account", step)
            for step, offset in ACCOUNT_LADDER
            if account_due_at + offset <= now and ("account", step) not in done
        ]
    return steps


async def _escalate_case(db: Database, case_id: uuid.UUID, calendar: WorkingCalendar, now: datetime) -> int:
    """Fire one case's due steps in a transaction of its own (skipped while another holds the case)."""
    fired = 0
    async with db.uow() as uow:
        cases = CaseRepository(uow)
        case = await cases.claim_for_job(case_id)
        if case is None:
            return 0
        done = await cases.fired_steps(case_id)
        steps = _due_steps(
            case.licence_clock, case.licence_issued_at, case.account_due_at, case.account_opened_at, done, calendar, now
        )
        for clock_name, step in steps:
            if clock_name == "licence":
                assert case.licence_clock is not None
                due = step_moment(STANDARD_LADDER.steps[1], case.licence_clock, calendar)
            else:
                due = case.account_due_at
            if await cases.claim_sla_step(case, clock_name, step, due=due, now=now):
                case.escalate(clock_name, step, due=due, now=now)
                log.info("sla.fired", case_id=str(case.id), clock=clock_name, step=step)
                fired += 1
        await cases.save_job_progress(case)
        await uow.commit()  # the case's events go to the outbox with it
    return fired


async def remind_once(db: Database, clock: Clock, batch: int = 500) -> int:
    """Send each missing item's scheduled reminders until it is supplied: one event per case and
    round, each case in its own transaction (one unreadable case cannot hold back the others)."""
    now = clock.now()
    today = now.astimezone(SHANGHAI).date()
    m = t.case_materials
    async with db.sessionmaker() as session:
        case_ids = (
            (
                await session.execute(
                    select(m.c.case_id)
                    .join(t.cases, t.cases.c.id == m.c.case_id)
                    .where(*_reminder_due(today))
                    .distinct()
                    .order_by(m.c.case_id)
                    .limit(batch)
                )
            )
            .scalars()
            .all()
        )
    sent = 0
    for case_id in case_ids:
        try:
            sent += await _remind_case(db, case_id, today, now)
        except Exception:  # reported, retried next round; the others go on
            log.exception("sla.reminder_failed", case_id=str(case_id))
    return sent


def _reminder_due(today: date) -> tuple:
    m = t.case_materials
    return (
        m.c.status == "missing",
        t.cases.c.status.in_(("awaiting_materials", "correction")),
        func.cardinality(m.c.reminders) > m.c.reminders_sent,
        m.c.reminders[m.c.reminders_sent + 1] <= today,  # Postgres arrays are 1-based
    )


async def _remind_case(db: Database, case_id: uuid.UUID, today: date, now: datetime) -> int:
    m = t.case_materials
    async with db.uow() as uow:
        codes = (
            (
                await uow.session.execute(
                    select(m.c.code)
                    .join(t.cases, t.cases.c.id == m.c.case_id)
                    .where(m.c.case_id == case_id, *_reminder_due(today))
                    .order_by(m.c.code)
                    .with_for_update(of=m, skip_locked=True)
                )
            )
            .scalars()
            .all()
        )
        if not codes:  # reminded meanwhile, or another replica holds it
            return 0
        cases = CaseRepository(uow)
        case = await cases.get(case_id)
        assert case is not None
        case.remind_materials(list(codes), now=now)
        await cases.save_job_progress(case, reminded=tuple(codes))
        await uow.commit()  # the reminder's event goes to the outbox with the counts
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
