"""Loads and saves the case aggregate and the calendar. Never commits: the unit of work does."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from opc_shared.errors import VersionMismatch
from registry.adapters import tables as t
from registry.domain.calendar import CalendarNotLoaded, DayKind, WorkingCalendar
from registry.domain.case import Case, MaterialItem, Status, Step, StepState, SubCase, SubStatus
from registry.domain.sla import STANDARD_LADDER, Pause, SlaClock, step_moment


def clock_to_json(clock: SlaClock | None) -> dict[str, Any] | None:
    if clock is None:
        return None
    return {
        "started_at": clock.started_at.isoformat(),
        "working_days": clock.working_days,
        "pauses": [[p.paused_at.isoformat(), p.resumed_at.isoformat() if p.resumed_at else None] for p in clock.pauses],
        "extension_days": clock.extension_days,
        "extension_reason": clock.extension_reason,
    }


def clock_from_json(data: dict[str, Any] | None) -> SlaClock | None:
    if not data:
        return None
    return SlaClock(
        started_at=datetime.fromisoformat(data["started_at"]),
        working_days=data["working_days"],
        pauses=tuple(Pause(datetime.fromisoformat(a), datetime.fromisoformat(b) if b else None) for a, b in data["pauses"]),
        extension_days=data["extension_days"],
        extension_reason=data["extension_reason"],
    )


async def load_calendar(session: AsyncSession) -> WorkingCalendar:
    years = (await session.execute(select(t.calendar_years.c.year))).scalars().all()
    days = (await session.execute(select(t.calendar_days.c.day, t.calendar_days.c.kind))).all()
    return WorkingCalendar({d: DayKind(k) for d, k in days}, set(years))


async def load_case(session: AsyncSession, case_id: uuid.UUID, *, for_update: bool = False) -> Case | None:
    query = select(t.cases).where(t.cases.c.id == case_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).mappings().first()
    if row is None:
        return None
    case = Case(
        id=row["id"],
        district=row["district"],
        founder_sub=row["founder_sub"],
        created_by=row["created_by"],
        status=Status(row["status"]),
        form=dict(row["form"]),
        owner=row["owner"],
        sandbox=row["sandbox"],
        permits=list(row["permits"]),
        submitted_at=row["submitted_at"],
        accepted_at=row["accepted_at"],
        licence_issued_at=row["licence_issued_at"],
        account_opened_at=row["account_opened_at"],
        completed_at=row["completed_at"],
        licence_clock=clock_from_json(row["licence_clock"]),
        account_due_at=row["account_due_at"],
        firm_id=row["firm_id"],
        version=row["version"],
    )
    for s in (await session.execute(select(t.case_steps).where(t.case_steps.c.case_id == case_id))).mappings():
        case.steps[s["step"]] = Step(
            s["step"], s["position"], StepState(s["state"]), s["owner"], s["due_at"], s["completed_at"], s["reference"]
        )
    for m in (await session.execute(select(t.case_materials).where(t.case_materials.c.case_id == case_id))).mappings():
        case.materials[m["code"]] = MaterialItem(
            m["code"],
            m["status"],
            m["document_ref"],
            m["checksum"],
            m["supplied_at"],
            m["supplied_by"],
            m["requested_at"],
            list(m["reminders"]),
            m["reminders_sent"],
            m["note"],
        )
    for sc in (await session.execute(select(t.sub_cases).where(t.sub_cases.c.case_id == case_id))).mappings():
        case.sub_cases[sc["id"]] = SubCase(
            sc["id"],
            sc["kind"],
            SubStatus(sc["status"]),
            sc["opened_at"],
            dict(sc["signoffs"]),
            sc["simplified_review"],
            sc["referred_at"],
            sc["due_at"],
            sc["decided_at"],
            sc["reference"],
            sc["reason"],
        )
    return case


def _case_row(case: Case, calendar: WorkingCalendar | None) -> dict[str, Any]:
    due = warn = None
    if case.licence_clock is not None and calendar is not None and case.licence_issued_at is None:
        due = case.licence_clock.due(calendar)
        warn = step_moment(STANDARD_LADDER.steps[0], case.licence_clock, calendar)
    return {
        "district": case.district,
        "status": case.status.value,
        "founder_sub": case.founder_sub,
        "created_by": case.created_by,
        "owner": case.owner,
        "form": case.form,
        "community_id": case.form.get("community_id"),
        "workstation_id": case.form.get("workstation_id"),
        "sandbox": case.sandbox,
        "permits": case.permits,
        "submitted_at": case.submitted_at,
        "accepted_at": case.accepted_at,
        "licence_issued_at": case.licence_issued_at,
        "account_opened_at": case.account_opened_at,
        "completed_at": case.completed_at,
        "licence_clock": clock_to_json(case.licence_clock),
        "licence_due_at": due,
        "licence_warn_at": warn,
        "account_due_at": case.account_due_at,
        "firm_id": case.firm_id,
    }


async def save_case(session: AsyncSession, case: Case, *, calendar: WorkingCalendar | None, new: bool, now: datetime) -> None:
    row = _case_row(case, calendar)
    if new:
        await session.execute(insert(t.cases).values(id=case.id, version=1, created_at=now, updated_at=now, **row))
    else:
        result = await session.execute(
            update(t.cases)
            .where(t.cases.c.id == case.id, t.cases.c.version == case.version)
            .values(version=t.cases.c.version + 1, updated_at=now, **row)
        )
        if result.rowcount != 1:
            raise VersionMismatch(current="newer", sent=case.version)
        case.version += 1
    if case.steps:
        stmt = pg_insert(t.case_steps).values(
            [
                {
                    "case_id": case.id,
                    "step": s.step,
                    "position": s.position,
                    "state": s.state.value,
                    "owner": s.owner,
                    "due_at": s.due_at,
                    "completed_at": s.completed_at,
                    "reference": s.reference,
                }
                for s in case.steps.values()
            ]
        )
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["case_id", "step"],
                set_={c: stmt.excluded[c] for c in ("state", "owner", "due_at", "completed_at", "reference")},
            )
        )
    if case.materials:
        stmt = pg_insert(t.case_materials).values(
            [
                {
                    "case_id": case.id,
                    "code": m.code,
                    "status": m.status,
                    "document_ref": m.document_ref,
                    "checksum": m.checksum,
                    "supplied_at": m.supplied_at,
                    "supplied_by": m.supplied_by,
                    "requested_at": m.requested_at,
                    "reminders": m.reminders,
                    "reminders_sent": m.reminders_sent,
                    "note": m.note,
                }
                for m in case.materials.values()
            ]
        )
        cols = (
            "status",
            "document_ref",
            "checksum",
            "supplied_at",
            "supplied_by",
            "requested_at",
            "reminders",
            "reminders_sent",
            "note",
        )
        await session.execute(
            stmt.on_conflict_do_update(index_elements=["case_id", "code"], set_={c: stmt.excluded[c] for c in cols})
        )
    if case.sub_cases:
        stmt = pg_insert(t.sub_cases).values(
            [
                {
                    "id": s.id,
                    "case_id": case.id,
                    "kind": s.kind,
                    "status": s.status.value,
                    "signoffs": s.signoffs,
                    "simplified_review": s.simplified_review,
                    "opened_at": s.opened_at,
                    "referred_at": s.referred_at,
                    "due_at": s.due_at,
                    "decided_at": s.decided_at,
                    "reference": s.reference,
                    "reason": s.reason,
                }
                for s in case.sub_cases.values()
            ]
        )
        cols = ("status", "signoffs", "referred_at", "due_at", "decided_at", "reference", "reason")
        await session.execute(stmt.on_conflict_do_update(index_elements=["id"], set_={c: stmt.excluded[c] for c in cols}))
    if case.new_timeline:
        await session.execute(
            insert(t.timeline),
            [
                {
                    "case_id": case.id,
                    "at": e.at,
                    "actor": e.actor,
                    "action": e.action,
                    "detail": e.detail,
                    "reference": e.reference,
                }
                for e in case.new_timeline
            ],
        )
        case.new_timeline.clear()


async def replace_calendar_year(
    session: AsyncSession, year: int, entries: dict[date, tuple[DayKind, str | None]], source: str, loaded_at: datetime
) -> None:
    await session.execute(
        delete(t.calendar_days).where(t.calendar_days.c.day >= date(year, 1, 1), t.calendar_days.c.day <= date(year, 12, 31))
    )
    if entries:
        await session.execute(
            insert(t.calendar_days), [{"day": d, "kind": k.value, "name": n} for d, (k, n) in sorted(entries.items())]
        )
    stmt = pg_insert(t.calendar_years).values(year=year, source=source, loaded_at=loaded_at)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["year"], set_={"source": stmt.excluded.source, "loaded_at": stmt.excluded.loaded_at}
        )
    )


async def refresh_due_dates(session: AsyncSession) -> int:
    """Recompute the stored due/warn moments of running clocks after the calendar changed."""
    calendar = await load_calendar(session)
    rows = (
        await session.execute(
            select(t.cases.c.id, t.cases.c.licence_clock).where(
                t.cases.c.status.in_(("accepted", "correction")), t.cases.c.licence_issued_at.is_(None)
            )
        )
    ).all()
    for row in rows:
        clock = clock_from_json(row.licence_clock)
        if clock is None:
            continue
        try:
            due, warn = clock.due(calendar), step_moment(STANDARD_LADDER.steps[0], clock, calendar)
        except CalendarNotLoaded:
            continue  # reported loudly when the case is next touched
        await session.execute(update(t.cases).where(t.cases.c.id == row.id).values(licence_due_at=due, licence_warn_at=warn))
    return len(rows)
