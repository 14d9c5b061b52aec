"""Who may read and change what: lists follow the rules of single reads, and city-wide records
(catalogue, calendar) are out of a district's reach."""

from __future__ import annotations

from opc_devstack.flows import supplied, token

from .conftest import Portal


async def licensed_case(portal: Portal) -> tuple[dict, dict]:
    case, founder = await portal.submitted_case()
    case = await portal.act(case, "accept")
    case = await portal.act(case, "steps/name_check/complete")
    case = await portal.act(case, "steps/business_licence/complete")
    assert case["firm_id"]
    return case, founder


async def test_firm_lists_follow_the_single_read_rules(portal: Portal) -> None:
    case, founder = await licensed_case(portal)
    firm_id = case["firm_id"]
    # The founder's token does not carry firm_id yet: they still read the firm their case created, and only it.
    own = await portal.ok(await portal.client.get("/v1/firms", headers=founder))
    assert [f["id"] for f in own["items"]] == [firm_id]
    assert (await portal.ok(await portal.client.get(f"/v1/firms/{firm_id}", headers=founder)))["id"] == firm_id
    # Another founder of the same district sees nothing of it.
    other = portal.founder("founder-someone-else")
    assert (await portal.ok(await portal.client.get("/v1/firms", headers=other)))["items"] == []
    assert (await portal.client.get(f"/v1/firms/{firm_id}", headers=other)).status_code == 404
    # A scenario owner is not staff and not a firm: no firm records at all.
    owner = token(portal.district, "scenario_owner")
    assert (await portal.client.get("/v1/firms", headers=owner)).status_code == 403
    assert (await portal.client.get(f"/v1/firms/{firm_id}", headers=owner)).status_code == 404
    # A firm user with another firm_id sees neither.
    stranger = token(portal.district, "firm", sub="other-firm-user", firm_id="00000000-0000-0000-0000-000000000001")
    assert (await portal.ok(await portal.client.get("/v1/firms", headers=stranger)))["items"] == []
    # Staff see their district; another district's staff neither list it nor read it.
    listed = await portal.ok(await portal.client.get("/v1/firms", headers=portal.caseworker))
    assert firm_id in [f["id"] for f in listed["items"]]
    elsewhere = token("elsewhere", "caseworker")
    assert (await portal.client.get("/v1/firms", params={"district": portal.district}, headers=elsewhere)).status_code == 403
    assert firm_id not in [f["id"] for f in (await portal.ok(await portal.client.get("/v1/firms", headers=elsewhere)))["items"]]


async def test_district_admins_cannot_rewrite_city_wide_records(portal: Portal) -> None:
    line = {"name_zh": "改写", "name_en": "Rewritten", "sandbox": False, "permits": []}
    refused = await portal.client.put("/v1/business-lines/ai_music", json=line, headers=portal.admin)
    assert refused.status_code == 403
    assert (await portal.client.post("/v1/calendar/2026/seed", headers=portal.admin)).status_code == 403
    put = await portal.client.put("/v1/calendar/2027", json={"days": [], "source": "district guess"}, headers=portal.admin)
    assert put.status_code == 403
    city_admin = token("*", "admin")
    for year in (2000, 2024, 2029, 2099, 2100):  # the clock says 2026: only 2025–2028 are plausible
        bad = await portal.client.put(f"/v1/calendar/{year}", json={"days": [], "source": "typo"}, headers=city_admin)
        assert bad.status_code == 422, year
        assert bad.json()["errors"][0]["field"] == "year"
    assert (await portal.client.get("/v1/calendar/2099", headers=portal.caseworker)).status_code == 404


async def test_community_lists_refuse_another_district_like_every_list(portal: Portal) -> None:
    await portal.community()
    other_admin = token("elsewhere", "admin")
    refused = await portal.client.get("/v1/communities", params={"district": portal.district}, headers=other_admin)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert (await portal.client.get("/v1/cases", params={"district": portal.district}, headers=other_admin)).status_code == 403
    mine = await portal.ok(await portal.client.get("/v1/communities", params={"district": portal.district}, headers=portal.admin))
    assert len(mine["items"]) == 1 and mine["next_cursor"] is None


async def test_after_acceptance_a_material_changes_only_through_a_correction(portal: Portal) -> None:
    case, founder = await portal.submitted_case()
    before = await portal.ok(await portal.client.get(f"/v1/cases/{case['id']}", headers=founder))
    case = await portal.act(case, "accept")
    refused = await portal.act(case, "materials/address_proof", supplied("address_proof", "v2"), who=founder, status=409)
    assert refused["code"] == "material_locked"
    after = await portal.ok(await portal.client.get(f"/v1/cases/{case['id']}", headers=founder))
    assert [m["document_ref"] for m in after["materials"]] == [m["document_ref"] for m in before["materials"]]
    case = await portal.act(case, "corrections", {"items": {"address_proof": "租赁合同已过期"}})
    case = await portal.act(case, "materials/address_proof", supplied("address_proof", "v2"), who=founder)
    assert case["status"] == "accepted"
    again = await portal.act(case, "materials/address_proof", supplied("address_proof", "v3"), who=founder, status=409)
    assert again["code"] == "material_locked"


async def test_every_list_pages_with_a_cursor(portal: Portal) -> None:
    community_id, _ = await portal.community(n=5)
    case, _ = await portal.submitted_case()
    seen: list[str] = []
    params: dict = {"limit": 2}
    while True:
        page = await portal.ok(
            await portal.client.get(f"/v1/communities/{community_id}/workstations", params=params, headers=portal.admin)
        )
        assert len(page["items"]) <= 2
        seen += [w["code"] for w in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == ["W0", "W1", "W2", "W3", "W4"]
    first = await portal.ok(
        await portal.client.get(f"/v1/cases/{case['id']}/timeline", params={"limit": 1}, headers=portal.caseworker)
    )
    rest = await portal.ok(
        await portal.client.get(
            f"/v1/cases/{case['id']}/timeline", params={"cursor": first["next_cursor"], "limit": 200}, headers=portal.caseworker
        )
    )
    everything = await portal.ok(await portal.client.get(f"/v1/cases/{case['id']}/timeline", headers=portal.caseworker))
    assert [e["action"] for e in first["items"] + rest["items"]] == [e["action"] for e in everything["items"]]
    assert everything["items"][0]["action"] == "draft_saved"  # oldest first
    too_many = await portal.client.get("/v1/business-lines", params={"limit": 201}, headers=portal.caseworker)
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["field"] == "limit"
