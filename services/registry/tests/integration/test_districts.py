"""Every city, not only Chengdu: the district catalogue drives USCC division codes, district checks,
the sandbox pilot per city, and the community and firm events other services build on."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from opc_devstack.flows import supplied, token
from registry.domain.identifiers import generate_uscc

from .conftest import CITY_ADMIN, Portal


async def outbox(portal: Portal, event_type: str, key: str) -> list[dict]:
    db = portal.client.app.state.db
    ob = db.platform.outbox
    async with db.sessionmaker() as session:
        rows = await session.execute(select(ob.c.payload).where(ob.c.event_type == event_type, ob.c.key == key).order_by(ob.c.id))
        return [p.get("data", p) for p in rows.scalars()]


async def licensed(portal: Portal, community: dict, lines: list[str]) -> dict:
    ws = await portal.ok(
        await portal.client.post(f"/v1/communities/{community['id']}/workstations", json=[{"code": "W1"}], headers=portal.admin),
        201,
    )
    founder = portal.founder(f"founder-{uuid.uuid4().hex[:8]}")
    draft = await portal.ok(
        await portal.client.post("/v1/cases", json=portal.form(community["id"], ws[0]["id"], lines), headers=founder), 201
    )
    case = await portal.act(draft, "submit", who=founder)
    for m in case["materials"]:
        if m["status"] == "missing":
            case = await portal.act(case, f"materials/{m['code']}", supplied(m["code"]), who=founder)
    case = await portal.act(case, "accept")
    case = await portal.act(case, "steps/name_check/complete")
    return await portal.act(case, "steps/business_licence/complete")


def new_community(district: str, **extra) -> dict:
    return {
        "name": f"社区-{uuid.uuid4().hex[:6]}",
        "district": district,
        "kind": "industrial_park",
        "land_use": "office",
        **extra,
    }


async def test_the_catalogue_lists_cities_districts_and_division_codes(portal: Portal) -> None:
    page = await portal.ok(await portal.client.get("/v1/districts", params={"limit": 200}, headers=portal.caseworker))
    rows = {d["code"]: d for d in page["items"]}
    assert (rows["wuhou"]["division_code"], rows["wuhou"]["city"]) == ("510107", "chengdu")
    assert (rows["wenjiang"]["division_code"], rows["haishu"]["division_code"], rows["haidian"]["division_code"]) == (
        "510115",
        "330203",
        "110108",
    )
    assert rows["haishu"]["city"] == "ningbo" and rows["haidian"]["city_name_zh"] == "北京市"
    # Tianfu New Area is no county-level division: no borrowed code, the divisions it spans instead.
    assert rows["tianfu"]["division_code"] is None and "510116" in rows["tianfu"]["member_divisions"]
    ningbo = (await portal.ok(await portal.client.get("/v1/districts", params={"city": "ningbo"}, headers=portal.caseworker)))[
        "items"
    ]
    assert "haishu" in {d["code"] for d in ningbo} and {d["city"] for d in ningbo} == {"ningbo"}
    # Only city-wide admins edit it.
    body = {"name_zh": "某区", "name_en": "Some", "city": "chengdu", "division_code": "510121"}
    assert (await portal.client.put("/v1/districts/jintang", json=body, headers=portal.admin)).status_code == 403
    bad = await portal.client.put("/v1/districts/nowhere", json={**body, "city": "atlantis"}, headers=CITY_ADMIN)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "city"


async def test_a_district_added_shows_in_the_next_catalogue_read_although_reads_are_cached(portal: Portal) -> None:
    def codes(page: dict) -> set[str]:
        return {d["code"] for d in page["items"]}

    listed = await portal.ok(await portal.client.get("/v1/districts", params={"limit": 200}, headers=portal.caseworker))
    assert "jintang" not in codes(listed)
    body = {"name_zh": "金堂县", "name_en": "Jintang", "city": "chengdu", "division_code": "510121"}
    await portal.ok(await portal.client.put("/v1/districts/jintang", json=body, headers=CITY_ADMIN))
    again = await portal.ok(await portal.client.get("/v1/districts", params={"limit": 200}, headers=portal.caseworker))
    assert "jintang" in codes(again), "the writing process forgot its cached catalogue"


async def test_unknown_districts_are_refused_with_a_clear_error(portal: Portal) -> None:
    stranger = "nowhere"
    created = await portal.client.post("/v1/communities", json=new_community(stranger), headers=token(stranger, "admin"))
    assert created.status_code == 422
    assert created.json()["code"] == "unknown_district" and created.json()["errors"][0]["field"] == "district"
    case = await portal.client.post("/v1/cases", json={"proposed_name": "某某科技有限公司"}, headers=token(stranger, "firm"))
    assert case.status_code == 422 and case.json()["code"] == "unknown_district"
    city_cw = token("*", "caseworker")
    for path in ("/v1/cases", "/v1/firms", "/v1/communities"):
        refused = await portal.client.get(path, params={"district": stranger}, headers=city_cw)
        assert refused.status_code == 422 and refused.json()["code"] == "unknown_district", path
    figures = await portal.client.get(
        "/v1/figures", params={"from": "2026-09-01", "to": "2026-09-30", "district": stranger}, headers=city_cw
    )
    assert figures.status_code == 422


async def test_a_tianfu_community_names_its_division_and_licences_carry_it(portal: Portal) -> None:
    tianfu = Portal(portal.client, portal.clock, "tianfu")
    missing = await tianfu.client.post("/v1/communities", json=new_community("tianfu"), headers=tianfu.admin)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "division_code"
    borrowed = await tianfu.client.post(
        "/v1/communities", json=new_community("tianfu", division_code="510107"), headers=tianfu.admin
    )
    assert borrowed.status_code == 422
    community = await tianfu.ok(
        await tianfu.client.post(
            "/v1/communities",
            json=new_community("tianfu", division_code="510116", operator_name="天府 AI 运营有限公司"),
            headers=tianfu.admin,
        ),
        201,
    )
    case = await licensed(tianfu, community, ["agent_development"])
    firm = await tianfu.ok(await tianfu.client.get(f"/v1/firms/{case['firm_id']}", headers=tianfu.caseworker))
    assert firm["uscc"][2:8] == "510116"


async def test_haishu_runs_the_sandbox_pilot_and_its_events_reach_other_services(portal: Portal) -> None:
    haishu = Portal(portal.client, portal.clock, "haishu")
    operator_uscc = "91330203MA2GQ1234X"
    bad = await haishu.client.post(
        "/v1/communities", json=new_community("haishu", operator_uscc=operator_uscc), headers=haishu.admin
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "operator_uscc"
    operator_uscc = generate_uscc("330203", 4242)
    community = await haishu.ok(
        await haishu.client.post(
            "/v1/communities",
            json=new_community("haishu", operator_uscc=operator_uscc, operator_name="海曙 OPC 运营公司"),
            headers=haishu.admin,
        ),
        201,
    )
    [registered] = await outbox(haishu, "opc.registry.community.registered.v1", community["id"])
    assert registered["city"] == "ningbo" and registered["division_code"] == "330203"
    assert registered["operator_uscc"] == operator_uscc and registered["land_use"] == "office"

    case = await licensed(haishu, community, ["ai_short_drama"])
    assert case["sandbox"] is True
    assert case["firm_id"] and (
        await haishu.ok(await haishu.client.get(f"/v1/firms/{case['firm_id']}", headers=haishu.caseworker))
    )["uscc"].startswith("91330203")
    [firm_event] = await outbox(haishu, "opc.registry.firm.registered.v1", case["firm_id"])
    assert firm_event["community_id"] == community["id"]
    # The same line in a Chengdu district gets no simplified review: the pilot is Ningbo's.
    chengdu_community = await portal.ok(
        await portal.client.post("/v1/communities", json=new_community(portal.district), headers=portal.admin), 201
    )
    chengdu_case = await licensed(portal, chengdu_community, ["ai_short_drama"])
    assert chengdu_case["sandbox"] is False
