"""What a portal meets at the edges: normalised input, one answer per situation, the right status."""

from __future__ import annotations

import asyncio

from .conftest import Portal


async def test_full_width_phone_digits_are_stored_normalised_and_other_scripts_refused(portal: Portal) -> None:
    community_id, ws = await portal.community()
    founder = portal.founder("founder-fullwidth")
    form = portal.form(community_id, ws[0], ["agent_development"])
    form["founder"]["phone"] = "13８００１３８０００"
    case = await portal.ok(await portal.client.post("/v1/cases", json=form, headers=founder), 201)
    assert case["form"]["founder"]["phone"] == "13800138000"
    stored = await portal.ok(await portal.client.get(f"/v1/cases/{case['id']}", headers=founder))
    assert stored["form"]["founder"]["phone"] == "13800138000"
    patched = await portal.client.patch(
        f"/v1/cases/{case['id']}",
        json={"founder": {"phone": "١٣٨٠٠١٣٨٠٠٠"}},
        headers={**founder, "If-Match": f'"{stored["version"]}"'},
    )
    assert patched.status_code == 422 and patched.json()["errors"][0]["field"] == "founder.phone"
    patched = await portal.ok(
        await portal.client.patch(
            f"/v1/cases/{case['id']}",
            json={"founder": {"phone": "１３９ ００１３ ９０００"}},
            headers={**founder, "If-Match": f'"{stored["version"]}"'},
        )
    )
    assert patched["form"]["founder"]["phone"] == "13900139000"


async def test_concurrent_submits_for_one_workstation_get_one_answer(portal: Portal) -> None:
    community_id, ws = await portal.community(n=1)
    drafts = []
    for i in range(8):
        founder = portal.founder(f"founder-race-{i}")
        form = portal.form(community_id, ws[0], ["agent_development"], seed=i + 1)
        drafts.append((await portal.ok(await portal.client.post("/v1/cases", json=form, headers=founder), 201), founder))
    answers = await asyncio.gather(
        *(portal.client.post(f"/v1/cases/{d['id']}/submit", headers={**f, "If-Match": f'"{d["version"]}"'}) for d, f in drafts)
    )
    codes = sorted((r.status_code, r.json().get("code")) for r in answers)
    assert codes[0][0] == 200 and codes[1:] == [(409, "workstation_occupied")] * 7, codes
    # A later submit for the taken workstation gets the same answer.
    late_founder = portal.founder("founder-late")
    late = await portal.ok(
        await portal.client.post("/v1/cases", json=portal.form(community_id, ws[0], ["agent_development"]), headers=late_founder),
        201,
    )
    refused = await portal.act(late, "submit", who=late_founder, status=409)
    assert refused["code"] == "workstation_occupied"


async def test_statuses_say_what_went_wrong(portal: Portal) -> None:
    case, _ = await portal.submitted_case()
    case = await portal.act(case, "accept")
    unknown = await portal.act(case, "steps/foo/complete", status=404)
    assert unknown["code"] == "step_not_found"
    community_id, _ = await portal.community(n=1)
    empty = await portal.client.post(f"/v1/communities/{community_id}/workstations", json=[], headers=portal.admin)
    assert empty.status_code == 422
    too_many = [{"code": f"X{i}"} for i in range(201)]
    big = await portal.client.post(f"/v1/communities/{community_id}/workstations", json=too_many, headers=portal.admin)
    assert big.status_code == 422
    twice = await portal.client.post(
        f"/v1/communities/{community_id}/workstations", json=[{"code": "Y"}, {"code": "Y"}], headers=portal.admin
    )
    assert twice.status_code == 422 and twice.json()["errors"][0]["field"] == "1.code"
    backwards = await portal.client.get(
        "/v1/figures", params={"from": "2026-10-01", "to": "2026-09-01"}, headers=portal.caseworker
    )
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "to"


async def test_workstation_creation_honours_idempotency_keys(portal: Portal) -> None:
    community_id, _ = await portal.community(n=1)
    headers = {**portal.admin, "Idempotency-Key": f"ws-{community_id}"}
    first = await portal.ok(
        await portal.client.post(f"/v1/communities/{community_id}/workstations", json=[{"code": "K1"}], headers=headers), 201
    )
    again = await portal.ok(
        await portal.client.post(f"/v1/communities/{community_id}/workstations", json=[{"code": "K1"}], headers=headers), 201
    )
    assert again == first
    other = await portal.client.post(f"/v1/communities/{community_id}/workstations", json=[{"code": "K2"}], headers=headers)
    assert other.status_code in (409, 422) and other.json()["code"] == "idempotency_key_reused"
    listed = (await portal.ok(await portal.client.get(f"/v1/communities/{community_id}/workstations", headers=portal.admin)))[
        "items"
    ]
    assert sorted(w["code"] for w in listed) == ["K1", "W0"]


async def test_refusals_read_in_the_requested_language(portal: Portal) -> None:
    community_id, ws = await portal.community()
    founder = portal.founder("founder-zh")
    form = portal.form(community_id, ws[0], ["agent_development"])
    form["founder"]["id_number"] = form["founder"]["id_number"][:17] + ("0" if form["founder"]["id_number"][17] != "0" else "1")
    for lang, expected, foreign in (("zh-CN", "校验位为", "check character"), ("en", "check character", "校验位")):
        bad = await portal.client.post("/v1/cases", json=form, headers={**founder, "Accept-Language": lang})
        assert bad.status_code == 422
        message = bad.json()["errors"][0]["message"]
        assert expected in message and foreign not in message, message
    case, owner = await portal.submitted_case()
    headers = {**owner, "If-Match": f'"{case["version"]}"', "Accept-Language": "zh-CN"}
    forbidden = await portal.client.post(f"/v1/cases/{case['id']}/accept", headers=headers)
    assert forbidden.status_code == 403
    assert "经办人" in forbidden.json()["detail"] and "needs one of roles" not in forbidden.json()["detail"]
    anonymous = await portal.client.get("/v1/cases", headers={"Accept-Language": "zh-CN"})
    assert anonymous.status_code == 401 and "missing" not in anonymous.json()["detail"]
    late = await portal.client.post(
        f"/v1/cases/{case['id']}/steps/seal/complete",
        json={},
        headers={**portal.caseworker, "If-Match": f'"{case["version"]}"', "Accept-Language": "zh-CN"},
    )
    assert late.status_code == 409 and "ready" not in late.json()["detail"] and "待受理" in late.json()["detail"]
