"""The calendar cliff is visible weeks before: readiness warns (still 200), a gauge counts the days
left, and one calendar.horizon_low event fires per missing year. The refusal itself stays."""

from __future__ import annotations

from datetime import UTC, datetime

from registry import calendar_watch

from .conftest import Portal
from .test_districts import outbox


async def test_readiness_warns_and_the_gauge_counts_days_left(portal: Portal) -> None:
    portal.clock._at = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
    calm = await portal.client.get("/readyz")
    assert calm.status_code == 200 and "warnings" not in calm.json()
    assert "registry_calendar_days_left 213.0" in (await portal.client.get("/metrics")).text
    portal.clock._at = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 39 days before 2027, which nobody has loaded
    warned = await portal.client.get("/readyz")
    assert warned.status_code == 200 and warned.json()["status"] == "ready"
    assert "PUT /v1/calendar/2027" in warned.json()["warnings"]["calendar"]
    assert "registry_calendar_days_left 39.0" in (await portal.client.get("/metrics")).text


async def test_the_horizon_event_fires_once_per_missing_year(portal: Portal) -> None:
    db = portal.client.app.state.db
    portal.clock._at = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)  # 91 days left: quiet
    await calendar_watch.check_once(db, portal.clock)
    assert await outbox(portal, "opc.registry.calendar.horizon_low.v1", "calendar:2027") == []
    portal.clock._at = datetime(2026, 11, 17, 2, 0, tzinfo=UTC)  # 44 days left
    found = await calendar_watch.check_once(db, portal.clock)
    assert (found.days_left, found.missing_year) == (44, 2027)
    portal.clock._at = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    await calendar_watch.check_once(db, portal.clock)
    [event] = await outbox(portal, "opc.registry.calendar.horizon_low.v1", "calendar:2027")
    assert event["days_left"] == 44 and event["last_loaded_day"] == "2026-12-31" and event["threshold_days"] == 45


async def test_the_refusal_past_the_horizon_stays(portal: Portal) -> None:
    case, _ = await portal.submitted_case()
    portal.clock._at = datetime(2026, 12, 29, 2, 0, tzinfo=UTC)
    refused = await portal.act(case, "accept", status=409)
    assert refused["code"] == "calendar_not_loaded"


async def test_the_calendar_file_format_is_what_put_accepts(portal: Portal) -> None:
    from pathlib import Path

    from opc_devstack.flows import token
    from registry.calendar_file import read

    data = read(Path(__file__).parents[2] / "calendars" / "2026.json")
    body = {"source": data["source"], "days": data["days"]}
    loaded = await portal.ok(await portal.client.put("/v1/calendar/2026", json=body, headers=token("*", "admin")))
    assert [{"day": d["day"], "kind": d["kind"], "name": d["name"]} for d in loaded["days"]] == data["days"]
