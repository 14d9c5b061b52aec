"""All of the registry's case persistence: the case aggregate and its parts, its timeline, the
workstation it occupies, the firm its licence creates, and the working-day calendar (read at most
once per request and cached across requests until an edit changes it).

Never commits: the unit of work does, and drains the events of every case handed to it here."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, insert, literal_column, select, text, update
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from opc_shared.clock import SHANGHAI
from opc_shared.db import UnitOfWork, dicts
from opc_shared.errors import VersionMismatch
from opc_shared.pagination import Keyset, Page, PageParams
from registry.adapters import tables as t
from registry.domain.calendar import CalendarNotLoaded, DayKind, WorkingCalendar
from registry.domain.case import Case, MaterialItem, Placement, Status, Step, StepState, SubCase, SubStatus
from registry.domain.firm import FirmStatus
from registry.domain.form import CaseForm
from registry.domain.notice import Notice, NoticeItem
from registry.domain.sla import STANDARD_LADDER, Pause, SlaClock, step_moment

TIMELINE = Keyset(t.timeline.c.id, t.timeline.c.id, id_type=int, sort_type=int, ascending=True)
STATUS_HISTORY = Keyset(t.firm_status_history.c.id, t.firm_status_history.c.id, id_type=int, sort_type=int, ascending=True)


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


async def load_calendar(session: AsyncSession, *, max_age_s: float = 0.0) -> WorkingCalendar:
    """The working-day calendar as stored now; cached across requests while no year is edited.

    ``max_age_s``: a read may use the cached calendar without checking the stamp if it was checked that
    recently (an edit on another replica shows within that time). Writes keep the default 0: they
    must see the calendar their own transaction stores."""
    key = _cache_key(session)
    cached = _calendar_cache.get(key)
    if cached is not None and max_age_s > 0 and time.monotonic() - cached[2] <= max_age_s:
        return cached[1]
    # Only a read vouches for the cache's freshness: a write's transaction may still roll back.
    checked_at = time.monotonic() if max_age_s > 0 else float("-inf")
    stamp = (await session.execute(_CALENDAR_STAMP)).scalar_one()
    if cached is not None and cached[0] == stamp:
        _calendar_cache[key] = (stamp, cached[1], max(checked_at, cached[2]))
        return cached[1]
    years = (await session.execute(select(t.calendar_years.c.year))).scalars().all()
    days = (await session.execute(select(t.calendar_days.c.day, t.calendar_days.c.kind))).all()
    calendar = WorkingCalendar({d: DayKind(k) for d, k in days}, set(years))
    _calendar_cache[key] = (stamp, calendar, checked_at)
    return calendar


#: Every edit rewrites its year's row (replace_calendar_year), which gives the row a new xmin:
#: so the years with their row versions name the calendar's content, whoever edited it, on any replica.
_CALENDAR_STAMP = select(
    func.coalesce(
        func.string_agg(
            func.concat(t.calendar_years.c.year, ":", text("xmin::text")),
            aggregate_order_by(literal_column("','"), t.calendar_years.c.year),
        ),
        "",
    )
)
_calendar_cache: dict[str, tuple[str, WorkingCalendar, float]] = {}  # url → (stamp, calendar, checked at)
#: How stale a calendar a read-only request may use: one edit reaches every replica's reads within it.
READ_CALENDAR_MAX_AGE_S = 1.0


def _cache_key(session: AsyncSession) -> str:
    return str(session.bind.url) if session.bind is not None else ""


_LOAD_CASE = """
SELECT c.*,
       ARRAY(SELECT s FROM {steps} s WHERE s.case_id = c.id) AS _steps,
       ARRAY(SELECT m FROM {materials} m WHERE m.case_id = c.id) AS _materials,
       ARRAY(SELECT x FROM {sub_cases} x WHERE x.case_id = c.id) AS _sub_cases
FROM {cases} c WHERE c.id = :case_id
"""
_LOAD_CASE_SQL = text(
    _LOAD_CASE.format(
        cases=t.cases.fullname, steps=t.case_steps.fullname, materials=t.case_materials.fullname, sub_cases=t.sub_cases.fullname
    )
)
_LOAD_CASE_FOR_UPDATE_SQL = text(_LOAD_CASE_SQL.text + " FOR UPDATE OF c")


async def load_case(session: AsyncSession, case_id: uuid.UUID, *, for_update: bool = False) -> Case | None:
    """The case with its steps, materials and sub-cases in one round trip (child rows as arrays of
    row values, which asyncpg decodes with their column types)."""
    query = _LOAD_CASE_FOR_UPDATE_SQL if for_update else _LOAD_CASE_SQL
    row = (await session.execute(query, {"case_id": case_id})).mappings().first()
    if row is None:
        return None
    case = Case(
        id=row["id"],
        district=row["district"],
        founder_sub=row["founder_sub"],
        created_by=row["created_by"],
        status=Status(row["status"]),
        form=CaseForm.from_json(row["form"]),
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
    for s in row["_steps"]:
        case.steps[s["step"]] = Step(
            s["step"], s["position"], StepState(s["state"]), s["owner"], s["due_at"], s["completed_at"], s["reference"]
        )
    for m in row["_materials"]:
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
    for sc in row["_sub_cases"]:
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
        "form": case.form.to_json(),
        "community_id": case.form.community_id,
        "workstation_id": case.form.workstation_id,
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
    await _save_parts(session, case)


async def _save_parts(session: AsyncSession, case: Case) -> None:
    """Steps, materials, sub-cases and new timeline entries: everything of the case but its row."""
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
    await _save_notices(session, case)
    await _save_timeline(session, case)


async def _save_notices(session: AsyncSession, case: Case) -> None:
    """Each new notice gets its number here: district, year (Asia/Shanghai) and a serial no one else shares."""
    for notice in case.new_notices:
        serial = (await session.execute(select(func.nextval("registry.notice_serial")))).scalar_one()
        year = notice.issued_at.astimezone(SHANGHAI).year
        await session.execute(
            insert(t.notices).values(
                id=notice.id,
                case_id=case.id,
                number=f"{case.district.upper()}-{year}-{serial:06d}",
                kind=notice.kind,
                issued_at=notice.issued_at,
                deadline_at=notice.deadline_at,
                reminders=list(notice.reminders),
                items=[item.to_json() for item in notice.items],
            )
        )
    case.new_notices.clear()


def notice_from_row(row: Any) -> Notice:
    return Notice(
        id=row["id"],
        kind=row["kind"],
        issued_at=row["issued_at"],
        deadline_at=row["deadline_at"],
        reminders=tuple(row["reminders"]),
        items=tuple(NoticeItem.from_json(i) for i in row["items"]),
        number=row["number"],
    )


async def _save_timeline(session: AsyncSession, case: Case) -> None:
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
    _calendar_cache.pop(_cache_key(session), None)  # this process's reads check the stamp again at once
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


class CaseRepository:
    """The cases of one unit of work. Every case it returns or adds is tracked, so the unit of
    work's commit writes the events the case raised; the calendar is read once per unit of work."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.session = uow.session

    async def get(self, case_id: uuid.UUID, *, for_update: bool = False) -> Case | None:
        case = await load_case(self.session, case_id, for_update=for_update)
        return self.uow.track(case) if case is not None else None

    async def add(self, case: Case, now: datetime) -> None:
        await save_case(self.session, self.uow.track(case), calendar=None, new=True, now=now)

    async def save(self, case: Case, calendar: WorkingCalendar, now: datetime) -> None:
        await save_case(self.session, case, calendar=calendar, new=False, now=now)

    async def save_job_progress(self, case: Case, *, reminded: tuple[str, ...] = ()) -> None:
        """What a job records on a case: reminder counts and timeline entries, nothing else (the
        job may not hold the case row, so it must not write back state people change), and no new
        version (the case as people edit it did not change, so their If-Match stays good)."""
        m = t.case_materials
        for item in (case.materials[code] for code in reminded):
            await self.session.execute(
                update(m).where(m.c.case_id == case.id, m.c.code == item.code).values(reminders_sent=item.reminders_sent)
            )
        await _save_timeline(self.session, case)

    async def claim_for_job(self, case_id: uuid.UUID) -> Case | None:
        """The case locked for a job, or None while someone else holds it (SKIP LOCKED)."""
        locked = await self.session.execute(select(t.cases.c.id).where(t.cases.c.id == case_id).with_for_update(skip_locked=True))
        return await self.get(case_id) if locked.first() is not None else None

    async def fired_steps(self, case_id: uuid.UUID) -> set[tuple[str, str]]:
        e = t.sla_escalations
        return {
            (row.clock, row.step) for row in await self.session.execute(select(e.c.clock, e.c.step).where(e.c.case_id == case_id))
        }

    async def claim_sla_step(self, case: Case, clock: str, step: str, *, due: datetime | None, now: datetime) -> bool:
        """True once per (case, clock, step), whoever asks: the primary key refuses a second claim."""
        row = (
            await self.session.execute(
                pg_insert(t.sla_escalations)
                .values(case_id=case.id, clock=clock, step=step, fired_at=now, due_at=due or now)
                .on_conflict_do_nothing()
                .returning(t.sla_escalations.c.step)
            )
        ).first()
        return row is not None

    async def calendar(self) -> WorkingCalendar:
        memo = self.uow.memo
        if "registry.calendar" not in memo:
            max_age = READ_CALENDAR_MAX_AGE_S if getattr(self.uow, "read_only", False) else 0.0
            memo["registry.calendar"] = await load_calendar(self.session, max_age_s=max_age)
        return memo["registry.calendar"]  # type: ignore[return-value]

    async def replace_calendar_year(
        self, year: int, entries: dict[date, tuple[DayKind, str | None]], source: str, loaded_at: datetime
    ) -> int:
        """Store a year and move the due dates of running clocks; returns how many cases were looked at."""
        await replace_calendar_year(self.session, year, entries, source, loaded_at)
        self.uow.memo.pop("registry.calendar", None)
        return await refresh_due_dates(self.session)

    async def notices(self, case_id: uuid.UUID) -> list[Notice]:
        rows = await self.session.execute(
            select(t.notices).where(t.notices.c.case_id == case_id).order_by(t.notices.c.issued_at, t.notices.c.number)
        )
        return [notice_from_row(r) for r in rows.mappings()]

    async def timeline(self, case_id: uuid.UUID, page: PageParams) -> Page[dict[str, Any]]:
        """Oldest first: a case's history reads from the top."""
        query = TIMELINE.apply(select(t.timeline).where(t.timeline.c.case_id == case_id), page)
        return TIMELINE.page(dicts(await self.session.execute(query)), page)

    # ----------------------------------------------------------- workstations and the firm

    async def placement(self, case: Case) -> Placement | None:
        """Where the form puts the firm, and whether another case holds that workstation."""
        ws_id, community_id = case.form.workstation_id, case.form.community_id
        if ws_id is None or community_id is None:
            return None
        row = (
            await self.session.execute(
                select(
                    t.workstations.c.code,
                    t.workstations.c.registrable,
                    t.communities.c.name,
                    t.communities.c.district,
                    t.communities.c.land_use,
                    t.communities.c.address,
                )
                .join(t.communities, t.communities.c.id == t.workstations.c.community_id)
                .where(t.workstations.c.id == ws_id, t.communities.c.id == community_id)
            )
        ).first()
        if row is None:
            return None
        occupied = (
            await self.session.execute(
                select(func.count())
                .select_from(t.occupancies)
                .where(
                    t.occupancies.c.workstation_id == ws_id,
                    t.occupancies.c.ended_at.is_(None),
                    t.occupancies.c.case_id != case.id,
                )
            )
        ).scalar_one()
        return Placement(row.name, row.district, row.land_use, row.address, row.code, row.registrable, occupied > 0)

    async def occupy(self, case: Case, now: datetime) -> bool:
        """The case takes its workstation; False if another active case or firm already sits there."""
        try:
            async with self.session.begin_nested():
                await self.session.execute(
                    insert(t.occupancies).values(workstation_id=case.form.workstation_id, case_id=case.id, started_at=now)
                )
        except IntegrityError:
            return False
        return True

    async def release(self, case: Case, now: datetime) -> None:
        await self.session.execute(
            update(t.occupancies)
            .where(t.occupancies.c.case_id == case.id, t.occupancies.c.ended_at.is_(None))
            .values(ended_at=now)
        )

    async def next_uscc_serial(self) -> int:
        return int((await self.session.execute(select(func.nextval("registry.uscc_serial")))).scalar_one())

    async def community_division(self, community_id: uuid.UUID) -> str | None:
        return (
            await self.session.execute(select(t.communities.c.division_code).where(t.communities.c.id == community_id))
        ).scalar_one_or_none()


class FirmRepository:
    """The firm register: a firm is written here when its licence is issued, and its status
    changes are saved here with their history (the firm's events go out with the unit of work)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.session = uow.session

    async def add_licensed(self, case: Case, *, uscc: str, now: datetime, actor: str) -> None:
        """The firm a licence created: its register row, its first status, and its seat at the workstation."""
        founder = case.form.founder_or_blank
        today = now.astimezone(SHANGHAI).date()
        await self.session.execute(
            insert(t.firms).values(
                id=case.firm_id,
                name=case.form.proposed_name,
                district=case.district,
                community=case.form.community_name,
                founder_name=founder.name or "",
                registered_at=now,
                created_by=actor,
                uscc=uscc,
                case_id=case.id,
                registered_address=case.form.registered_address,
                business_lines=list(case.form.business_lines or ()),
                status="operating",
                status_since=today,
            )
        )
        await self.session.execute(
            insert(t.firm_status_history).values(
                firm_id=case.firm_id, status="operating", effective_date=today, reason="licence issued", recorded_by=actor
            )
        )
        await self.session.execute(
            update(t.occupancies)
            .where(t.occupancies.c.case_id == case.id, t.occupancies.c.ended_at.is_(None))
            .values(firm_id=case.firm_id)
        )

    def status_of(self, row: Mapping[str, Any]) -> FirmStatus:
        """The firm's status aggregate from its register row (read, and locked, by the caller)."""
        return self.uow.track(FirmStatus(row["id"], row["district"], row["status"], row["status_since"], row["version"]))

    async def save_status(self, firm: FirmStatus) -> None:
        saved = await self.session.execute(
            update(t.firms)
            .where(t.firms.c.id == firm.id, t.firms.c.version == firm.version)
            .values(status=firm.status, status_since=firm.since, version=t.firms.c.version + 1)
        )
        if saved.rowcount != 1:
            raise VersionMismatch(current="newer", sent=firm.version)
        firm.version += 1
        if firm.new_changes:
            await self.session.execute(
                insert(t.firm_status_history),
                [
                    {
                        "firm_id": firm.id,
                        "status": c.status,
                        "effective_date": c.effective_date,
                        "reason": c.reason,
                        "recorded_by": c.recorded_by,
                    }
                    for c in firm.new_changes
                ],
            )
            firm.new_changes.clear()

    async def status_history(self, firm_id: uuid.UUID, page: PageParams) -> Page[dict[str, Any]]:
        """Oldest first."""
        h = t.firm_status_history
        return await STATUS_HISTORY.fetch(self.session, select(h).where(h.c.firm_id == firm_id), page)
