"""Automatic compute and model-voucher entitlements from the ledger's invoice events."""

from __future__ import annotations

from datetime import date

from opc_devstack.pytest_plugin import bearer

from .conftest import cat


async def entitlements(client, firm_id, year: int = 2026, headers=None) -> dict:
    got = await client.get(f"/v1/firms/{firm_id}/entitlements", params={"year": year}, headers=headers or client.staff("finance"))
    assert got.status_code == 200, got.text
    return {e["programme"]: e for e in got.json()["items"]}


async def test_invoices_accrue_compute_and_voucher_with_the_cap_crossed_mid_year(subsidy) -> None:
    """Invoice 1: compute 1,234.56 yuan (tax incl.) and tokens 3,333.33 yuan.
    compute 123,456 × 60 % = 74,073.6 → 74,073 fen; voucher 333,333 × 30 % = 99,999.9 → 99,999 fen.
    Then 8,000,000 yuan more compute (2026-12-31, still 2026): 800,123,456 × 60 % = 480,074,073.6 → cap 500,000,000? No:
    480,074,073 < 500,000,000. A third invoice of 400,000 yuan crosses it: 840,123,456 × 60 % = 504,074,073.6 → 500,000,000.
    An invoice dated 2027-01-01 counts for 2027 only."""
    feed, d = subsidy.feed, subsidy.district
    firm = await feed.firm(d)
    number = await feed.invoice(firm, d, date(2026, 3, 1), cat("compute", 123_456), cat("tokens", 333_333))
    got = await entitlements(subsidy, firm)
    assert got["compute"]["amount_fen"] == 74_073 and got["model_voucher"]["amount_fen"] == 99_999
    zh = got["compute"]["explanation"]["zh-CN"]
    assert "第（三）条" in zh and "2026.1" in zh and "1,234.56 元 × 比例 60% = 740.736 元" in zh and "向下取整到分" in zh
    assert "rounded down to the fen" in got["compute"]["explanation"]["en"]
    assert got["compute"]["policy_version"] == "2026.1" and got["compute"]["owed_fen"] == 74_073

    # a redelivered event changes nothing (same invoice number, same category)
    await feed.invoice(firm, d, date(2026, 3, 1), cat("compute", 123_456), cat("tokens", 333_333), number=number)
    assert (await entitlements(subsidy, firm))["compute"]["amount_fen"] == 74_073

    await feed.invoice(firm, d, date(2026, 12, 31), cat("compute", 800_000_000))
    assert (await entitlements(subsidy, firm))["compute"]["amount_fen"] == 480_074_073
    await feed.invoice(firm, d, date(2026, 12, 31), cat("compute", 40_000_000))
    capped = (await entitlements(subsidy, firm))["compute"]
    assert capped["amount_fen"] == 500_000_000 and capped["base_fen"] == 840_123_456
    assert "每年最高 5,000,000.00 元" in capped["explanation"]["zh-CN"]
    await feed.invoice(firm, d, date(2027, 1, 1), cat("compute", 100))
    assert (await entitlements(subsidy, firm, 2027))["compute"]["amount_fen"] == 60
    assert (await entitlements(subsidy, firm))["compute"]["amount_fen"] == 500_000_000


async def test_a_reversal_lowers_the_entitlement_of_the_blue_invoices_year(subsidy) -> None:
    """Blue 2026-12-30: 10,000 yuan compute → 6,000 yuan. Red-letter in 2027 reversing 2,500 yuan of it:
    base 7,500 yuan → 4,500 yuan in 2026; 2027 untouched."""
    feed, d = subsidy.feed, subsidy.district
    firm = await feed.firm(d)
    blue = await feed.invoice(firm, d, date(2026, 12, 30), cat("compute", 1_000_000))
    await feed.reverse(firm, d, blue, date(2026, 12, 30), cat("compute", 250_000))
    got = await entitlements(subsidy, firm)
    assert got["compute"]["amount_fen"] == 450_000 and got["compute"]["base_fen"] == 750_000
    assert await entitlements(subsidy, firm, 2027) == {}


async def test_graduate_founder_tier_from_registry_facts(subsidy) -> None:
    """A graduate founder registered 2025-05-04 (Shanghai) and the registry event seen on 2026-11-02:
    17 whole months → the 6-month tier, 5,000 yuan."""
    from datetime import UTC, datetime

    from opc_shared.contracts.registry import FirmStatusChangedV1

    feed, d = subsidy.feed, subsidy.district
    firm = await feed.firm(d, graduate=True, registered=datetime(2025, 5, 4, 2, tzinfo=UTC))
    # the registered event is replayed late here: its "now" is its own time, so accrue with a status event today
    status = FirmStatusChangedV1(
        firm_id=firm, district=d, status="operating", previous_status="operating", effective_date=date(2025, 5, 4)
    )
    await feed.send(status, datetime(2026, 11, 2, 2, tzinfo=UTC))
    got = await entitlements(subsidy, firm)
    assert got["graduate_founder"]["amount_fen"] == 500_000
    assert "满6个月档" in got["graduate_founder"]["explanation"]["zh-CN"]


async def test_access_firm_sees_its_own_other_districts_do_not(subsidy) -> None:
    feed, d = subsidy.feed, subsidy.district
    firm = await feed.firm(d)
    await feed.invoice(firm, d, date(2026, 5, 1), cat("tokens", 1_000))
    own = bearer(d, ("firm",), firm_id=str(firm))
    assert (await entitlements(subsidy, firm, headers=own))["model_voucher"]["amount_fen"] == 300
    other_firm = bearer(d, ("firm",), firm_id="00000000-0000-0000-0000-000000000001")
    for headers in (bearer("elsewhere", ("finance",)), other_firm):
        refused = await subsidy.get(f"/v1/firms/{firm}/entitlements", params={"year": 2026}, headers=headers)
        assert refused.status_code == 404 and refused.headers["content-type"].startswith("application/problem+json")
    city = bearer("*", ("reviewer",))
    assert (await entitlements(subsidy, firm, headers=city))["model_voucher"]["amount_fen"] == 300
    bad = await subsidy.get(f"/v1/firms/{firm}/entitlements", params={"year": "x"}, headers=city)
    assert bad.status_code == 422 and "year" in bad.text
    assert await entitlements(subsidy, firm, year=2031, headers=city) == {}, "a known firm's empty year"
    nobody = "00000000-0000-0000-0000-000000000002"
    unknown = await subsidy.get(f"/v1/firms/{nobody}/entitlements", params={"year": 2026}, headers=city)
    assert unknown.status_code == 404


async def test_graduate_tiers_accrue_daily_without_any_event(subsidy) -> None:
    """Registered 2026-01-05 (Shanghai): 5 months on 2026-06-04 → nothing; the job on 2026-07-06
    finds 6 whole months → 5,000 yuan; a second run the same day changes nothing."""
    from datetime import UTC, datetime

    from opc_shared.clock import FixedClock
    from subsidy.scheduler import graduate_accrual_once

    feed, d = subsidy.feed, subsidy.district
    firm = await feed.firm(d, graduate=True, registered=datetime(2026, 1, 5, 2, tzinfo=UTC))
    db = subsidy.app.state.db
    await graduate_accrual_once(db, FixedClock(datetime(2026, 6, 4, 2, tzinfo=UTC)), batch=100_000)
    assert (await entitlements(subsidy, firm))["graduate_founder"]["amount_fen"] == 0
    await graduate_accrual_once(db, FixedClock(datetime(2026, 7, 6, 2, tzinfo=UTC)), batch=100_000)
    got = (await entitlements(subsidy, firm))["graduate_founder"]
    assert got["amount_fen"] == 500_000 and "正常经营 6 个月" in got["explanation"]["zh-CN"]
    await graduate_accrual_once(db, FixedClock(datetime(2026, 7, 6, 3, tzinfo=UTC)), batch=100_000)
    assert (await entitlements(subsidy, firm))["graduate_founder"]["amount_fen"] == 500_000
