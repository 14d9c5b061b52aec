"""Scenario demonstrations selected by matching feed the scenario_demo programme (≤ 20 a year)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from opc_shared.contracts.matching import ScenarioDemoSelectedV1
from opc_shared.contracts.registry import CommunityRegisteredV1

from .test_entitlements import entitlements


def selection(firm: uuid.UUID, district: str, n: int) -> ScenarioDemoSelectedV1:
    return ScenarioDemoSelectedV1(
        firm_id=firm,
        district=district,
        selection_id=uuid.uuid4(),
        engagement_id=uuid.uuid4(),
        demand_id=uuid.uuid4(),
        year=2027,
        title=f"示范场景{n}",
        sector="culture",
        scenario_owner="成都文旅集团",
        actual_investment_fen=300_000_000,
        selected_at=datetime(2027, 6, 1, 2, tzinfo=UTC),
    )


async def test_twenty_projects_a_year_each_capped(subsidy) -> None:
    """3,000,000 yuan invested × 30 % = 900,000 yuan per project (under the 1,000,000 cap).
    Firm A has projects 1 and 2 → 1,800,000 yuan; 18 other firms one each; the 21st selection gets 0.
    Ningbo's selection of the same year comes first and does not count: the 20 are Chengdu's."""
    feed, d = subsidy.feed, subsidy.district
    haishu = f"haishu{uuid.uuid4().hex[:4]}"
    await feed.send(
        CommunityRegisteredV1(
            community_id=uuid.uuid4(),
            name="海曙 OPC 社区",
            district=haishu,
            city="ningbo",
            division_code="330203",
            kind="industrial_park",
            land_use="office",
            registered_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
    )
    ningbo = selection(await feed.firm(haishu), haishu, 0).model_copy(update={"city": "ningbo"})
    assert await feed.send(ningbo) == "applied"
    a = await feed.firm(d)
    assert await feed.send(selection(a, d, 1)) == "applied"
    first = selection(a, d, 2)
    await feed.send(first)
    assert await feed.send(first.model_copy(update={})) in ("applied", "duplicate")  # same selection id: counted once
    others = [await feed.firm(d) for _ in range(19)]
    for i, firm in enumerate(others):
        await feed.send(selection(firm, d, i + 3))
    got = (await entitlements(subsidy, a, 2027))["scenario_demo"]
    assert got["amount_fen"] == 180_000_000 and got["base_fen"] == 600_000_000
    assert "第（十）条" in got["explanation"]["zh-CN"] and "本年第 2 个" in got["explanation"]["zh-CN"]
    assert (await entitlements(subsidy, others[17], 2027))["scenario_demo"]["amount_fen"] == 90_000_000  # the 20th
    last = (await entitlements(subsidy, others[18], 2027))["scenario_demo"]
    assert last["amount_fen"] == 0 and "每年不超过 20 个" in last["explanation"]["zh-CN"]
