"""The SLA scheduler picks only cases with a step still due, and one bad case cannot hold back
the others' warnings."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from registry.adapters import tables as t
from registry.scheduler import escalate_once

from .conftest import Portal

LONG_AGO = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
#: At Sun 4 Oct 22:00 for a case accepted Mon 28 Sep 10:00: two working days used (29, 30 Sep), so the
#: licence warning is due; the account is due Mon 5 Oct 24:00, so its warning is due too.
WARNED = {("licence", "warn"), ("account", "warn")}
STEPS = [(clock, step) for clock in ("licence", "account") for step in ("warn", "escalate", "escalate_again")]


async def _clone_overdue(
    portal: Portal, template_id: str, n: int, *, fired: bool, clock_json: dict | None = None
) -> list[uuid.UUID]:
    """``n`` copies of an accepted case, accepted long ago (so they sort first), every step fired or none."""
    db = portal.client.app.state.db
    async with db.sessionmaker() as session, session.begin():
        row = dict((await session.execute(select(t.cases).where(t.cases.c.id == uuid.UUID(template_id)))).mappings().one())
        ids = [uuid.uuid4() for _ in range(n)]
        copies = []
        for i, case_id in enumerate(ids):
            accepted = LONG_AGO + timedelta(minutes=i)
            copies.append(
                {
                    **row,
                    "id": case_id,
                    "workstation_id": None,
                    "accepted_at": accepted,
                    "submitted_at": accepted,
                    "licence_warn_at": accepted + timedelta(days=3),
                    "licence_due_at": accepted + timedelta(days=4),
                    "account_due_at": accepted + timedelta(days=7),
                    "licence_clock": clock_json if clock_json is not None else row["licence_clock"],
                }
            )
        await session.execute(insert(t.cases), copies)
        if fired:
            await session.execute(
                insert(t.sla_escalations),
                [
                    {"case_id": case_id, "clock": clock, "step": step, "fired_at": LONG_AGO, "due_at": LONG_AGO}
                    for case_id in ids
                    for clock, step in STEPS
                ],
            )
    return ids


async def _settle(portal: Portal, case_ids: list[str]) -> None:
    """Mark a test's live cases fully escalated, so later tests' schedulers have nothing of ours to fire."""
    db = portal.client.app.state.db
    async with db.sessionmaker() as session, session.begin():
        rows = [
            {"case_id": uuid.UUID(case_id), "clock": clock, "step": step, "fired_at": LONG_AGO, "due_at": LONG_AGO}
            for case_id in case_ids
            for clock, step in STEPS
        ]
        await session.execute(pg_insert(t.sla_escalations).values(rows).on_conflict_do_nothing())


async def _forget(portal: Portal, ids: list[uuid.UUID]) -> None:
    db = portal.client.app.state.db
    async with db.sessionmaker() as session, session.begin():
        for table in (t.sla_escalations, t.timeline):
            await session.execute(delete(table).where(table.c.case_id.in_(ids)))
        await session.execute(delete(t.cases).where(t.cases.c.id.in_(ids)))


async def _fired(portal: Portal, case_id: str) -> set[tuple[str, str]]:
    db = portal.client.app.state.db
    async with db.sessionmaker() as session:
        rows = await session.execute(
            select(t.sla_escalations.c.clock, t.sla_escalations.c.step).where(t.sla_escalations.c.case_id == uuid.UUID(case_id))
        )
        return {(r.clock, r.step) for r in rows}


async def test_fully_fired_overdue_cases_do_not_silence_new_warnings(portal: Portal) -> None:
    template, _ = await portal.submitted_case()
    template = await portal.act(template, "accept")
    old = await _clone_overdue(portal, template["id"], 200, fired=True)
    try:
        case, _ = await portal.submitted_case()
        await portal.act(case, "accept")  # Mon 28 Sep 10:00; licence due Thu 8 Oct 24:00, account due Mon 5 Oct 24:00
        portal.clock.advance(timedelta(days=7, hours=12))  # Sun 4 Oct 22:00: both warnings due, no breach yet
        db = portal.client.app.state.db
        for _ in range(3):  # a few rounds, as the job would run them
            await escalate_once(db, portal.clock, batch=3)
        assert await _fired(portal, case["id"]) == WARNED
        assert await _fired(portal, template["id"]) == WARNED
    finally:
        await _forget(portal, old)
        await _settle(portal, [template["id"], case["id"]])


async def test_one_bad_case_does_not_roll_back_the_others(portal: Portal) -> None:
    template, _ = await portal.submitted_case()
    template = await portal.act(template, "accept")
    bad = await _clone_overdue(portal, template["id"], 1, fired=False, clock_json={"started_at": "not a time"})
    try:
        case, _ = await portal.submitted_case()
        await portal.act(case, "accept")
        portal.clock.advance(timedelta(days=7, hours=12))
        db = portal.client.app.state.db
        assert await escalate_once(db, portal.clock, batch=50) >= 2
        assert await _fired(portal, case["id"]) == WARNED
        assert await _fired(portal, template["id"]) == WARNED
        assert await _fired(portal, str(bad[0])) == set()
    finally:
        await _forget(portal, bad)
        await _settle(portal, [template["id"], case["id"]])


async def test_one_unreadable_case_does_not_hold_back_the_others_reminders(portal: Portal) -> None:
    from registry.scheduler import remind_once

    bad, _ = await portal.submitted_case(documents=False)  # Mon 28 Sep: reminders after 1, 3, 5 days
    good, _ = await portal.submitted_case(documents=False)
    db = portal.client.app.state.db
    spoil = "UPDATE registry.cases SET form = jsonb_set(form, '{founder,graduation_date}', '\"not a date\"') WHERE id = :id"
    async with db.sessionmaker() as session, session.begin():
        await session.execute(text(spoil), {"id": uuid.UUID(bad["id"])})
    try:
        portal.clock.advance(timedelta(days=1))
        assert await remind_once(db, portal.clock) >= 1
        timeline = (await portal.ok(await portal.client.get(f"/v1/cases/{good['id']}/timeline", headers=portal.caseworker)))[
            "items"
        ]
        assert [e["detail"]["reminder_no"] for e in timeline if e["action"] == "materials_reminded"] == [1]
    finally:
        async with db.sessionmaker() as session, session.begin():
            # Withdrawn, so no later test's reminder round meets these two.
            await session.execute(
                text(
                    "UPDATE registry.cases SET status = 'withdrawn', form = form #- '{founder,graduation_date}' "
                    "WHERE id = ANY(:ids)"
                ),
                {"ids": [uuid.UUID(bad["id"]), uuid.UUID(good["id"])]},
            )
