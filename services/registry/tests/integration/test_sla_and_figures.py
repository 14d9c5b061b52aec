"""The escalation ladder fires each step once under concurrent schedulers; district figures
match a hand-computed example."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from opc_shared.db import Database
from registry.adapters import tables as t
from registry.scheduler import escalate_once
from registry.settings import RegistrySettings

from .conftest import Portal


async def test_escalation_ladder_fires_each_step_once_with_two_schedulers(portal: Portal) -> None:
    case, _ = await portal.submitted_case()
    case = await portal.act(case, "accept")  # Mon 28 Sep 10:00; licence due Thu 8 Oct 24:00, account due Mon 5 Oct 24:00
    first, second = (Database(RegistrySettings(), t.metadata) for _ in range(2))
    try:
        assert await escalate_once(first, portal.clock) == 0  # nothing due yet
        portal.clock.advance(timedelta(days=11))  # Fri 9 Oct 10:00: licence warned + breached; account all three steps
        fired = await asyncio.gather(escalate_once(first, portal.clock), escalate_once(second, portal.clock))
        assert sum(fired) == 5
        assert await asyncio.gather(escalate_once(first, portal.clock), escalate_once(second, portal.clock)) == [0, 0]
        portal.clock.advance(timedelta(days=1))  # Sat 10 Oct 10:00: one working day past due (Fri 9 was worked)
        fired = await asyncio.gather(escalate_once(first, portal.clock), escalate_once(second, portal.clock))
        assert sum(fired) == 1
        db = portal.client.app.state.db
        async with db.sessionmaker() as session:
            rows = (
                await session.execute(
                    select(t.sla_escalations.c.clock, t.sla_escalations.c.step).where(t.sla_escalations.c.case_id == case["id"])
                )
            ).all()
            events = Counter(
                (
                    await session.execute(
                        select(db.platform.outbox.c.event_type).where(
                            db.platform.outbox.c.payload["data"]["case_id"].astext == case["id"]
                        )
                    )
                ).scalars()
            )
        assert sorted(rows) == sorted(
            [
                ("licence", "warn"),
                ("licence", "escalate"),
                ("licence", "escalate_again"),
                ("account", "warn"),
                ("account", "escalate"),
                ("account", "escalate_again"),
            ]
        )
        assert events["opc.registry.sla.warning.v1"] == 2
        assert events["opc.registry.sla.breached.v1"] == 2
        assert events["opc.registry.sla.escalated.v1"] == 2
        timeline = (await portal.ok(await portal.client.get(f"/v1/cases/{case['id']}/timeline", headers=portal.caseworker)))[
            "items"
        ]
        assert sum(1 for e in timeline if e["action"].startswith("sla_")) == 6
    finally:
        await first.dispose()
        await second.dispose()


async def test_district_figures_match_a_hand_computed_example(portal: Portal) -> None:
    cases = []
    for _ in range(3):
        case, _ = await portal.submitted_case()
        cases.append(await portal.act(case, "accept"))  # all accepted Mon 28 Sep 10:00 (Chengdu)
    a, b, _ = cases

    async def licence_then_account(case: dict) -> None:
        case = await portal.act(case, "steps/name_check/complete")
        case = await portal.act(case, "steps/business_licence/complete")
        portal.clock.advance(timedelta(hours=2))
        for step in ("seal", "tax_registration", "bank_account", "social_insurance"):
            case = await portal.act(case, f"steps/{step}/complete")

    portal.clock.advance(timedelta(days=2))  # Wed 30 Sep 10:00
    await licence_then_account(a)  # licence: Tue 24h + Wed 10h = 1.42 wd; account at Wed 12:00: 24h + 12h = 1.5 wd
    portal.clock.advance(timedelta(days=9) - timedelta(hours=2))  # Fri 9 Oct 10:00
    await licence_then_account(b)  # licence: 24+24+(1–7 Oct off)+24+10 h = 3.42 wd, late; account: 84 h = 3.5 wd, 11 days: late
    # c: accepted, never licensed, both clocks overdue now.
    figures = await portal.ok(
        await portal.client.get("/v1/figures", params={"from": "2026-09-28", "to": "2026-09-28"}, headers=portal.caseworker)
    )
    assert figures["cases_opened"] == 3 and figures["cases_accepted"] == 3
    assert figures["licence"] == {
        "issued": 2,
        "median_working_days": 2.42,
        "p90_working_days": 3.42,
        "within_promise_share": 0.5,
        "breaches": 2,
    }
    assert figures["account"] == {
        "opened": 2,
        "median_working_days": 2.5,
        "p90_working_days": 3.5,
        "within_promise_share": 0.5,
        "breaches": 2,
    }
    empty = await portal.ok(
        await portal.client.get("/v1/figures", params={"from": "2026-01-01", "to": "2026-01-31"}, headers=portal.caseworker)
    )
    assert empty["cases_opened"] == 0 and empty["licence"]["median_working_days"] is None
    founder_view = await portal.client.get(
        "/v1/figures", params={"from": "2026-09-28", "to": "2026-09-28"}, headers=portal.founder("x")
    )
    assert founder_view.status_code == 403


async def test_missing_materials_are_reminded_on_schedule_until_supplied(portal: Portal) -> None:
    from opc_devstack.flows import supplied
    from registry.scheduler import remind_once

    case, founder = await portal.submitted_case(documents=False)  # Mon 28 Sep: notice out, reminders after 1, 3, 5 days
    db = portal.client.app.state.db
    assert await remind_once(db, portal.clock) == 0
    portal.clock.advance(timedelta(days=1))
    assert await remind_once(db, portal.clock) == 1
    assert await remind_once(db, portal.clock) == 0  # once per scheduled date
    for code in ("founder_id_copy", "articles_of_association", "address_proof"):
        case = await portal.act(case, f"materials/{code}", supplied(code), who=founder)
    portal.clock.advance(timedelta(days=5))
    assert await remind_once(db, portal.clock) == 0  # supplied: no more reminders
    timeline = (await portal.ok(await portal.client.get(f"/v1/cases/{case['id']}/timeline", headers=founder)))["items"]
    reminders = [e for e in timeline if e["action"] == "materials_reminded"]
    assert len(reminders) == 1 and reminders[0]["detail"]["reminder_no"] == 1
    assert len(reminders[0]["detail"]["items"]) == 3
