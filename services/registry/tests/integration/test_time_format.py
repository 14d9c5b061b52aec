"""The registry writes every time as RFC 3339 UTC ``Z``: in action answers, later reads, timelines,
sign-offs and events alike; founders read deadlines as Chengdu local time in words (issue 6, item 12)."""

from __future__ import annotations

import re

from sqlalchemy import select

from opc_devstack.flows import supplied

from .conftest import Portal

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2}|Z)?")


def timestamps(value, where: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in timestamps(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [t for i, v in enumerate(value) for t in timestamps(v, f"{where}.{i}")]
    if isinstance(value, str) and TIMESTAMP.fullmatch(value):
        return [(where, value)]
    return []


def assert_all_utc(document, what: str) -> None:
    found = timestamps(document)
    assert found, f"{what}: no times at all"
    offsets = [(where, value) for where, value in found if not value.endswith("Z")]
    assert not offsets, f"{what}: times not in UTC Z: {offsets}"


async def test_action_answers_and_later_reads_say_the_same_time_in_utc(portal: Portal) -> None:
    case, _ = await portal.submitted_case(land_use="warehousing")
    site = next(s for s in case["sub_cases"] if s["kind"] == "site_statement")
    case = await portal.act(case, f"sub-cases/{site['id']}/signoffs", {"office": "street_office"})
    case = await portal.act(case, "accept")
    read = await portal.ok(await portal.client.get(f"/v1/cases/{case['id']}", headers=portal.caseworker))
    assert_all_utc(case, "action answer")
    assert timestamps(case) == timestamps(read), "an action's answer and a later read disagree"
    assert case["licence_clock"]["due_at"].endswith("Z") and case["account_due_at"].endswith("Z")
    signed = next(s for s in read["sub_cases"] if s["kind"] == "site_statement")["signoffs"]["street_office"]
    assert signed["at"].endswith("Z")

    timeline = (await portal.ok(await portal.client.get(f"/v1/cases/{case['id']}/timeline", headers=portal.caseworker)))["items"]
    assert_all_utc(timeline, "timeline")
    accepted = next(e for e in timeline if e["action"] == "accepted")
    assert accepted["detail"]["licence_due_at"] == case["licence_clock"]["due_at"]

    queue = await portal.ok(await portal.client.get("/v1/cases", headers=portal.caseworker))
    assert_all_utc(queue, "queue")

    db = portal.client.app.state.db
    async with db.sessionmaker() as session:
        payloads = (
            await session.execute(
                select(db.platform.outbox.c.payload).where(db.platform.outbox.c.payload["data"]["case_id"].astext == case["id"])
            )
        ).scalars()
        for payload in payloads:
            assert_all_utc(payload, "event")


async def test_progress_tells_the_founder_local_time_in_words(portal: Portal) -> None:
    case, founder = await portal.submitted_case()
    for code in ("founder_id_copy", "articles_of_association", "address_proof"):
        if any(m["code"] == code and m["status"] == "missing" for m in case["materials"]):
            case = await portal.act(case, f"materials/{code}", supplied(code), who=founder)
    case = await portal.act(case, "accept")
    zh = await portal.ok(await portal.client.get(f"/v1/cases/{case['id']}/progress", headers=founder))
    en = await portal.ok(
        await portal.client.get(f"/v1/cases/{case['id']}/progress", headers={**founder, "Accept-Language": "en"})
    )
    # Accepted Monday 28 Sep 2026 10:00 in Chengdu: the name check is due by the end of the next working day.
    assert any("2026年9月29日（星期二）24:00前办结" in s for s in zh["next_steps"]), zh["next_steps"]
    assert any("due by Tue 29 Sep 2026, 24:00 (Beijing time)" in s for s in en["next_steps"]), en["next_steps"]
    for text in (*zh["next_steps"], *en["next_steps"], zh["headline"], en["headline"]):
        assert not TIMESTAMP.search(text), text
