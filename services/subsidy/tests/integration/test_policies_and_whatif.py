"""A draft version simulated over all firms, then published: decided amounts do not move."""

from __future__ import annotations

import uuid
from datetime import date

from opc_devstack.pytest_plugin import bearer
from subsidy.domain.policy import bundled_documents

from .conftest import cat
from .test_claims import act, budget, craftsman_claim
from .test_entitlements import entitlements

CITY_ADMIN = bearer("*", ("admin",), sub="city-admin")


def draft_document(rate: str) -> dict:
    doc = next(d for d in bundled_documents() if d["policy_set"] == "chengdu-ai-opc")
    programmes = [{**p, "rate": rate} if p["code"] == "compute" else p for p in doc["programmes"]]
    return {**doc, "version": f"2027.test-{uuid.uuid4().hex[:6]}", "effective_from": "2027-10-01", "programmes": programmes}


async def test_simulate_a_draft_then_publish_without_moving_decided_amounts(subsidy) -> None:
    """Firm A: 10,000 yuan compute; firm B: 100 yuan compute and 1,000 yuan tokens (2026).
    Draft at 50 %: compute 5,000 + 50 = 5,050 yuan, voucher 300 yuan in this district;
    today (60 %) the firms hold 6,000 + 60 yuan."""
    feed, d = subsidy.feed, subsidy.district
    a, b = await feed.firm(d), await feed.firm(d)
    await feed.invoice(a, d, date(2026, 5, 1), cat("compute", 1_000_000))
    await feed.invoice(b, d, date(2026, 5, 2), cat("compute", 10_000), cat("tokens", 100_000))

    bad = await subsidy.post("/v1/policies", json={**draft_document("0.5"), "programmes": [{"code": "x"}]}, headers=CITY_ADMIN)
    assert bad.status_code == 422 and "document.programmes[0]" in bad.text
    float_rate = draft_document("0.5")
    float_rate["programmes"] = [{**float_rate["programmes"][0], "rate": 0.5}, *float_rate["programmes"][1:]]
    refused = await subsidy.post("/v1/policies", json=float_rate, headers=CITY_ADMIN)
    assert refused.status_code == 422 and "document.programmes[0].rate" in refused.text
    district_admin = await subsidy.post("/v1/policies", json=draft_document("0.5"), headers=bearer(d, ("admin",)))
    assert district_admin.status_code == 403

    # a claim decided before the new version is published
    claim = await craftsman_claim(subsidy, f"p-{uuid.uuid4().hex[:8]}")
    await budget(subsidy, "craftsman", 2_000_000)
    reviewed = await act(subsidy, claim, "review", "rv-1")
    decided = await act(subsidy, reviewed, "decision", "rv-2", {"decision": "approved"})

    created = await subsidy.post("/v1/policies", json=draft_document("0.50"), headers=CITY_ADMIN)
    assert created.status_code == 201, created.text
    draft = created.json()
    assert draft["status"] == "draft"
    founder = bearer(d, ("firm",), firm_id=str(a))
    assert (await subsidy.get(f"/v1/policies/{draft['id']}", headers=founder)).status_code == 404
    assert draft["id"] not in {v["id"] for v in (await subsidy.get("/v1/policies", headers=founder)).json()["items"]}
    sim = await subsidy.post(f"/v1/policies/{draft['id']}/simulate", json={"year": 2026}, headers=CITY_ADMIN)
    assert sim.status_code == 200, sim.text
    assert sim.json()["districts"][d] == {"compute": 505_000, "model_voucher": 30_000}
    assert (await entitlements(subsidy, a))["compute"]["amount_fen"] == 600_000  # nothing real touched

    published = await subsidy.post(f"/v1/policies/{draft['id']}/publish", headers=CITY_ADMIN)
    assert published.status_code == 200 and published.json()["status"] == "published"
    again = await subsidy.post(f"/v1/policies/{draft['id']}/publish", headers=CITY_ADMIN)
    assert again.status_code == 409

    after = (await subsidy.get(f"/v1/claims/{claim['id']}", headers=bearer(d, ("reviewer",)))).json()
    assert (after["policy_version"], after["approved_fen"], after["explanation"]) == (
        "2026.1",
        decided["approved_fen"],
        decided["explanation"],
    )
    # A's 2027 entitlement pinned 2026.1 with its first invoice; a later one under the new version keeps it.
    await feed.invoice(a, d, date(2027, 3, 1), cat("compute", 100_000))
    await feed.invoice(a, d, date(2027, 11, 1), cat("compute", 100_000))
    kept = (await entitlements(subsidy, a, 2027))["compute"]
    assert kept["policy_version"] == "2026.1" and kept["amount_fen"] == 120_000
    # A firm whose first 2027 invoice comes after the new version's effective date gets the new rate.
    c = await feed.firm(d)
    await feed.invoice(c, d, date(2027, 11, 1), cat("compute", 100_000))
    fresh = (await entitlements(subsidy, c, 2027))["compute"]
    assert fresh["policy_version"] == draft["version"] and fresh["amount_fen"] == 50_000
    assert "50%" in fresh["explanation"]["zh-CN"]


async def test_a_firm_estimates_what_it_would_get_and_is_owed(subsidy) -> None:
    """Tokens 2,000 yuan → 600 yuan would be granted, 600 owed, 999,400 yuan of the cap left."""
    feed, d = subsidy.feed, subsidy.district
    firm = await feed.firm(d)
    await feed.invoice(firm, d, date(2026, 8, 1), cat("tokens", 200_000))
    got = await subsidy.get(f"/v1/firms/{firm}/estimate", params={"year": 2026}, headers=bearer(d, ("firm",), firm_id=str(firm)))
    assert got.status_code == 200, got.text
    voucher = next(e for e in got.json()["items"] if e["programme"] == "model_voucher")
    assert (voucher["would_get_fen"], voucher["owed_fen"], voucher["cap_left_fen"]) == (60_000, 60_000, 99_940_000)
    compute = next(e for e in got.json()["items"] if e["programme"] == "compute")
    assert compute["base_fen"] == 0 and compute["would_get_fen"] == 0


async def test_another_city_adds_its_own_policy_set_without_code(subsidy) -> None:
    """Ningbo publishes its own set (its own codes): a firm in Haishu gets 50 % of 1,000 yuan under it,
    nothing under Chengdu's; the district's city comes from the registry's community event."""
    from datetime import UTC, datetime

    from opc_shared.contracts.registry import CommunityRegisteredV1

    district, tag = f"haishu{uuid.uuid4().hex[:4]}", uuid.uuid4().hex[:6]
    await subsidy.feed.send(
        CommunityRegisteredV1(
            community_id=uuid.uuid4(),
            name="海曙 OPC 云创 Labo",
            district=district,
            city="ningbo",
            division_code="330203",
            kind="industrial_park",
            land_use="education",
            registered_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
    )
    ningbo = {
        "policy_set": f"ningbo-aiopc-{tag}",
        "city": "ningbo",
        "version": "2026.1",
        "effective_from": "2026-01-01",
        "valid_from": "2026-01-01",
        "valid_until": "2027-12-31",
        "title_zh": "宁波海曙 AiOPC 社区扶持办法（测试）",
        "title_en": "Haishu AiOPC measures (test)",
        "parameters": {"cost_basis": "tax_included"},
        "programmes": [
            {
                "code": f"ningbo_compute_{tag}",
                "name_zh": "算力补贴",
                "name_en": "compute subsidy",
                "clause": "（二）",
                "lead_bureau": "海曙区发改局",
                "recipient": "firm",
                "mode": "automatic",
                "kind": "rate",
                "base": "invoiced_compute_cost",
                "rate": "0.50",
                "cap_per_year_yuan": 1000000,
            },
        ],
    }
    draft = (await subsidy.post("/v1/policies", json=ningbo, headers=CITY_ADMIN)).json()
    assert (await subsidy.post(f"/v1/policies/{draft['id']}/publish", headers=CITY_ADMIN)).status_code == 200
    firm = await subsidy.feed.firm(district)
    await subsidy.feed.invoice(firm, district, date(2026, 9, 1), cat("compute", 100_000))
    got = await entitlements(subsidy, firm, headers=bearer("*", ("finance",)))
    assert set(got) == {f"ningbo_compute_{tag}"} and got[f"ningbo_compute_{tag}"]["amount_fen"] == 50_000
    assert "宁波海曙" in got[f"ningbo_compute_{tag}"]["explanation"]["zh-CN"]
