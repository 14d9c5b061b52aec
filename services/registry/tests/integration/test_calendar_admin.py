"""Ops edit the working-day calendar per year; running clocks follow; unknown years are refused loudly."""

from __future__ import annotations

import pytest

from opc_devstack.flows import token

from .conftest import Portal
from .test_districts import outbox


@pytest.fixture
async def restore_2026(portal: Portal):
    yield
    await portal.ok(await portal.client.post("/v1/calendar/2026/seed", headers=token("*", "admin")))


async def test_calendar_edit_moves_running_due_dates(portal: Portal, restore_2026: None) -> None:
    city_admin = token("*", "admin")
    case, _ = await portal.submitted_case()
    case = await portal.act(case, "accept")
    assert case["licence_clock"]["due_at"] == "2026-10-08T16:00:00Z"
    year = await portal.ok(await portal.client.get("/v1/calendar/2026", headers=portal.caseworker))
    days = [{"day": d["day"], "kind": d["kind"], "name": d["name"]} for d in year["days"]]
    days.append({"day": "2026-10-08", "kind": "holiday", "name": "测试：延长假期"})
    await portal.ok(await portal.client.put("/v1/calendar/2026", json={"days": days, "source": "test edit"}, headers=city_admin))
    loaded = (await outbox(portal, "opc.registry.calendar.year_loaded.v1", "calendar:2026"))[-1]
    assert "2026-10-08" in loaded["holidays"] and loaded["source"] == "test edit"
    assert "2026-10-10" in loaded["adjusted_working_days"]  # the Saturday worked for National Day
    moved = await portal.ok(await portal.client.get(f"/v1/cases/{case['id']}", headers=portal.caseworker))
    assert moved["licence_clock"]["due_at"] == "2026-10-09T16:00:00Z"
    listed = await portal.ok(await portal.client.get("/v1/cases", params={"status": "accepted"}, headers=portal.caseworker))
    assert listed["items"][0]["licence_due_at"] == "2026-10-09T16:00:00Z"
    bad = await portal.client.put(
        "/v1/calendar/2026",
        json={"days": [{"day": "2026-10-10", "kind": "holiday"}, {"day": "2027-01-01", "kind": "holiday"}], "source": "typo"},
        headers=city_admin,
    )
    assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} == {"days.0.kind", "days.1.day"}
    assert (
        await portal.client.put("/v1/calendar/2026", json={"days": [], "source": "caseworker edit"}, headers=portal.caseworker)
    ).status_code == 403


async def test_a_due_date_past_the_last_loaded_year_is_refused(portal: Portal) -> None:
    from datetime import UTC, datetime

    case, _ = await portal.submitted_case()
    portal.clock._at = datetime(2026, 12, 30, 2, 0, tzinfo=UTC)  # three working days run into 2027, not loaded
    refused = await portal.act(case, "accept", status=409)
    assert refused["code"] == "calendar_not_loaded" and "2027" in refused["detail"]
    missing = await portal.client.get("/v1/calendar/2027", headers=portal.caseworker)
    assert missing.status_code == 404
    unknown = await portal.client.post("/v1/calendar/2028/seed", headers=token("*", "admin"))
    assert unknown.status_code == 409 and unknown.json()["code"] == "calendar_not_loaded"


async def test_the_calendar_is_read_at_most_once_per_request_and_reread_only_after_an_edit(
    portal: Portal, restore_2026: None
) -> None:
    from sqlalchemy import event

    reads: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        if "FROM registry.calendar_days" in statement and "WHERE" not in statement:  # the whole calendar, not one year
            reads.append(statement)

    engine = portal.client.app.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        case, _ = await portal.submitted_case()
        reads.clear()
        case = await portal.act(case, "accept")  # mutate, save (due dates) and render all need the calendar
        assert len(reads) <= 1
        reads.clear()
        await portal.ok(await portal.client.get(f"/v1/cases/{case['id']}", headers=portal.caseworker))
        assert reads == []  # nothing changed since: the cached calendar serves
        await portal.ok(await portal.client.post("/v1/calendar/2026/seed", headers=token("*", "admin")))
        assert len(reads) == 1  # the edit made it stale: re-read once, to move running due dates
        reads.clear()
        await portal.ok(await portal.client.get(f"/v1/cases/{case['id']}", headers=portal.caseworker))
        assert reads == []  # ... and that read, committed, serves the next requests
    finally:
        event.remove(engine, "before_cursor_execute", count)
