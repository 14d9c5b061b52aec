"""Worked examples for every kind of programme, each computed by hand in its docstring."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest

from subsidy.domain.compute import Facts, Ineligible, evaluate, floor_fen, fmt_yuan
from subsidy.domain.operation import months_of_normal_operation, whole_months
from subsidy.domain.policy import CHENGDU_CODES, PolicyError, bundled_documents, in_force, parse_policy


@pytest.fixture(scope="module")
def policy():
    (doc,) = [d for d in bundled_documents() if d["policy_set"] == "chengdu-ai-opc"]
    return parse_policy(doc, required_codes=CHENGDU_CODES)


def run(policy, code: str, **facts):
    return evaluate(policy, policy.programme(code), Facts(**facts))


def test_the_chengdu_file_has_all_twenty_programmes_with_clauses(policy) -> None:
    assert set(policy.programmes) == set(CHENGDU_CODES)
    assert policy.programme("compute").clause_zh == "第（三）条"
    assert policy.programme("scenario_demo").clause == "（十）"
    assert policy.programme("compute").rate == Decimal("0.60") and policy.programme("compute").cap_per_year_fen == 500_000_000
    assert [t.amount_fen for t in policy.programme("graduate_founder").tiers] == [500_000, 1_000_000, 2_000_000]
    assert {c.code: c.rate for c in policy.programme("talent_housing").classes}["C"] == Decimal("0.7")
    assert policy.cost_basis == "tax_included" and policy.effective_from == date(2026, 1, 1)
    for p in policy.programmes.values():
        assert p.mode == "automatic" or p.evidence, f"{p.code}: a claim on application needs evidence"


def test_compute_rate_rounds_down_and_says_so(policy) -> None:
    """1,234.56 yuan × 60 % = 740.736 yuan; rounded down to the fen: 740.73 yuan (0.006 yuan dropped)."""
    c = run(policy, "compute", base_fen=123_456)
    assert c.amount_fen == 74_073 and c.exact_fen == Decimal("74073.6") and c.dropped_fen == Decimal("0.6")
    assert "第（三）条" in c.explanation["zh-CN"] and "chengdu-ai-opc 2026.1" in c.explanation["zh-CN"]
    assert "1,234.56 元 × 比例 60% = 740.736 元" in c.explanation["zh-CN"]
    assert "向下取整到分" in c.explanation["zh-CN"] and "740.73 元" in c.explanation["zh-CN"]
    assert "clause （三）" in c.explanation["en"] and "rounded down to the fen" in c.explanation["en"]


def test_compute_cap_per_year_counts_what_was_already_granted(policy) -> None:
    """9,000,000 yuan × 60 % = 5,400,000 yuan > 5,000,000 cap → 5,000,000. With 4,900,000 already
    granted this year only 100,000 yuan are left."""
    assert run(policy, "compute", base_fen=900_000_000).amount_fen == 500_000_000
    c = run(policy, "compute", base_fen=900_000_000, already_granted_fen=490_000_000)
    assert c.amount_fen == 10_000_000 and c.limited_by == "cap_year"
    assert "每年最高 5,000,000.00 元，此前已核定 4,900,000.00 元，尚可 100,000.00 元" in c.explanation["zh-CN"]


def test_model_voucher(policy) -> None:
    """33,333.33 yuan of tokens × 30 % = 9,999.999 yuan → 9,999.99 yuan."""
    c = run(policy, "model_voucher", base_fen=3_333_333)
    assert c.amount_fen == 999_999 and c.dropped_fen == Decimal("0.9")


def test_graduate_tiers_pay_the_highest_tier_reached_less_what_was_paid(policy) -> None:
    """5 months: nothing. 17 months: the 6-month tier, 5,000 yuan. 18 months: the 18-month tier,
    10,000 yuan; 5,000 already paid → 5,000 more. 40 months: 20,000 − 10,000 paid = 10,000."""
    assert run(policy, "graduate_founder", months=5).amount_fen == 0
    assert run(policy, "graduate_founder", months=17).amount_fen == 500_000
    c = run(policy, "graduate_founder", months=18, already_granted_fen=500_000)
    assert c.amount_fen == 500_000 and "满18个月档" in c.explanation["zh-CN"]
    assert run(policy, "graduate_founder", months=40, already_granted_fen=1_000_000).amount_fen == 1_000_000


def test_fixed_one_off_craftsman(policy) -> None:
    """A fixed 20,000 yuan, once: a second grant to the same person is 0."""
    assert run(policy, "craftsman").amount_fen == 2_000_000
    assert run(policy, "craftsman", already_granted_fen=2_000_000).amount_fen == 0


def test_awards_are_capped(policy) -> None:
    """Competition award asked 250,000 → at most 200,000 one-off. Talent recruitment: 100,000 a year,
    60,000 already granted, 50,000 asked → 40,000."""
    assert run(policy, "competition_award", requested_fen=25_000_000).amount_fen == 20_000_000
    c = run(policy, "talent_recruitment", requested_fen=5_000_000, already_granted_fen=6_000_000)
    assert c.amount_fen == 4_000_000 and c.limited_by == "cap_year"
    assert run(policy, "community_national_incubator", requested_fen=150_000_000).amount_fen == 150_000_000


def test_talent_housing_area_relief(policy) -> None:
    """Class C, 60 m² at 2,999.99 yuan a month, 12 months: only 50 m² are relieved, at 70 %:
    299,999 fen × 50/60 × 0.7 × 12 = 299,999 × 50 × 0.7 × 12 / 60 = 2,099,993 fen exactly (20,999.93 yuan).
    48 months ask → at most 36 months count: 299,999 × 50 × 0.7 × 36 / 60 = 6,299,979 fen."""
    c = run(policy, "talent_housing", housing_class="C", unit_price_fen=299_999, area_m2=Decimal(60), months=12)
    assert c.amount_fen == 2_099_993 and c.dropped_fen == 0
    assert (
        run(policy, "talent_housing", housing_class="C", unit_price_fen=299_999, area_m2=Decimal(60), months=48).amount_fen
        == 6_299_979
    )
    """Class A, 40 m² at 1,000.01 yuan: 100 % of the whole rent, 3 months = 300,003 fen."""
    assert (
        run(policy, "talent_housing", housing_class="A", unit_price_fen=100_001, area_m2=Decimal(40), months=3).amount_fen
        == 300_003
    )
    with pytest.raises(Ineligible) as refused:
        run(policy, "talent_housing", housing_class="F", unit_price_fen=100_000, area_m2=Decimal(40), months=3)
    assert refused.value.field == "county_new_town"
    assert (
        run(
            policy,
            "talent_housing",
            housing_class="F",
            county_new_town=True,
            unit_price_fen=100_000,
            area_m2=Decimal(40),
            months=3,
        ).amount_fen
        == 150_000
    )


def test_youth_rent_three_months_free_three_half(policy) -> None:
    """1,500.01 yuan a month, 6 months: 3 × 150,001 + 3 × 150,001 × 50 % = 450,003 + 225,001.5
    = 675,004.5 fen → 675,004 fen (half a fen dropped). 4 months: 450,003 + 75,000.5 → 525,003."""
    c = run(policy, "youth_rent", unit_price_fen=150_001, months=6)
    assert c.amount_fen == 675_004 and c.dropped_fen == Decimal("0.5")
    assert run(policy, "youth_rent", unit_price_fen=150_001, months=4).amount_fen == 525_003
    assert run(policy, "youth_rent", unit_price_fen=150_001, months=12).amount_fen == 675_004


def test_youth_station_thirty_days_at_most(policy) -> None:
    """45 nights at 200 yuan: only 30 are free → 6,000 yuan."""
    assert run(policy, "youth_station", unit_price_fen=20_000, days=45).amount_fen == 600_000


def test_scenario_demo_cap_per_project_and_count_per_year(policy) -> None:
    """5,000,000 yuan invested × 30 % = 1,500,000 > 1,000,000 per project → 1,000,000.
    The 21st selection of a year gets nothing."""
    c = run(policy, "scenario_demo", base_fen=500_000_000, granted_count=19)
    assert c.amount_fen == 100_000_000 and c.limited_by == "cap_project" and "本年第 20 个" in c.explanation["zh-CN"]
    assert run(policy, "scenario_demo", base_fen=500_000_000, granted_count=20).amount_fen == 0


def test_rate_programmes_on_application(policy) -> None:
    """Open competition: 80,000,000 × 15 % = 12,000,000 > 10,000,000 per project.
    Equity: 8,000,000 × 10 % = 800,000. Hit product: 3,000,000.05 × 20 % = 600,000.01 yuan.
    Loan interest: 123,456.78 × 30 % = 37,037.034 → 37,037.03 yuan, but only 20,000 left of the year's 200,000."""
    assert run(policy, "open_competition", base_fen=8_000_000_000).amount_fen == 1_000_000_000
    assert run(policy, "equity_financing", base_fen=800_000_000).amount_fen == 80_000_000
    assert run(policy, "hit_product", base_fen=300_000_005).amount_fen == 60_000_001
    assert run(policy, "loan_interest", base_fen=12_345_678).amount_fen == 3_703_703
    assert run(policy, "loan_interest", base_fen=12_345_678, already_granted_fen=18_000_000).amount_fen == 2_000_000


def test_never_above_the_clause(policy) -> None:
    rng = random.Random(7)
    for code in ("compute", "model_voucher", "scenario_demo", "loan_interest", "hit_product", "equity_financing"):
        p = policy.programme(code)
        caps = [c for c in (p.cap_per_year_fen, p.cap_one_off_fen, p.cap_per_project_fen) if c is not None]
        for _ in range(300):
            base, granted = rng.randrange(0, 10**11), rng.randrange(0, 10**9)
            c = run(policy, code, base_fen=base, already_granted_fen=granted)
            assert 0 <= c.amount_fen <= Decimal(base) * p.rate and c.amount_fen <= min(caps)
            if p.cap_per_year_fen is not None:
                assert c.amount_fen <= max(p.cap_per_year_fen - granted, 0)


def test_missing_facts_are_named(policy) -> None:
    with pytest.raises(Ineligible) as e:
        run(policy, "compute")
    assert e.value.field == "base_fen"


def test_a_policy_without_a_cap_or_with_a_float_rate_is_refused(policy) -> None:
    doc = next(d for d in bundled_documents() if d["policy_set"] == "chengdu-ai-opc")
    bad = {**doc, "programmes": [{**doc["programmes"][0], "rate": 0.6}]}
    with pytest.raises(PolicyError, match=r"programmes\[0\]\.rate"):
        parse_policy(bad)
    uncapped = {k: v for k, v in doc["programmes"][0].items() if k != "cap_per_year_yuan"}
    with pytest.raises(PolicyError, match="cap"):
        parse_policy({**doc, "programmes": [uncapped]})
    with pytest.raises(PolicyError, match="missing programmes"):
        parse_policy({**doc, "programmes": doc["programmes"][:3]}, required_codes=CHENGDU_CODES)


def test_version_in_force(policy) -> None:
    doc = next(d for d in bundled_documents() if d["policy_set"] == "chengdu-ai-opc")
    later = parse_policy({**doc, "version": "2026.2", "effective_from": "2026-07-01"})
    assert in_force([policy, later], "chengdu-ai-opc", date(2026, 6, 30)) is policy
    assert in_force([policy, later], "chengdu-ai-opc", date(2026, 7, 1)) is later
    assert in_force([policy, later], "chengdu-ai-opc", date(2025, 12, 31)) is None
    assert in_force([policy, later], "chengdu-ai-opc", date(2028, 1, 1)) is None  # past the plan's window


def test_months_of_normal_operation_leave_suspensions_out() -> None:
    """Registered 2026-01-15. By 2026-07-15: 6 months. Suspended 2026-03-01 → 2026-04-01 (31 days):
    2026-07-15 − 31 days = 2026-06-14 → 4 whole months. Deregistered 2026-05-15: count stops there."""
    reg = date(2026, 1, 15)
    assert months_of_normal_operation(reg, [], date(2026, 7, 15)) == 6
    changes = [(date(2026, 3, 1), "suspended"), (date(2026, 4, 1), "operating")]
    assert months_of_normal_operation(reg, changes, date(2026, 7, 15)) == 4
    assert months_of_normal_operation(reg, [(date(2026, 3, 1), "suspended")], date(2026, 7, 15)) == 1
    assert months_of_normal_operation(reg, [(date(2026, 5, 15), "deregistered")], date(2027, 1, 1)) == 4
    assert whole_months(date(2026, 1, 31), date(2026, 2, 28)) == 0


def test_money_formatting() -> None:
    assert fmt_yuan(123_456_789) == "1,234,567.89" and fmt_yuan(Decimal("74073.6")) == "740.736" and fmt_yuan(5) == "0.05"
    assert floor_fen(Decimal("-0.5")) == -1


def test_the_integer_fast_path_agrees_with_the_explained_engine(policy) -> None:
    from subsidy.domain.compute import rate_amount

    rng = random.Random(11)
    for code in ("compute", "model_voucher", "loan_interest", "open_competition", "hit_product"):
        p = policy.programme(code)
        for _ in range(500):
            base, granted = rng.randrange(0, 10**12), rng.choice([0, rng.randrange(0, 10**9)])
            assert rate_amount(p, base, granted) == run(policy, code, base_fen=base, already_granted_fen=granted).amount_fen


def test_the_what_if_totals_are_the_sum_of_each_firms_exact_amount(policy) -> None:
    from subsidy.domain.compute import rate_amount
    from subsidy.service.evaluation import total_up

    rng = random.Random(5)
    rows = [
        (d, cat, [rng.randrange(0, 2 * 10**9) for _ in range(50)], 77)
        for d in ("wuhou", "gaoxin")
        for cat in ("compute", "tokens")
    ]
    got = total_up(policy, rows)
    code = {"compute": "compute", "tokens": "model_voucher"}
    for d, cat, bases, _ in rows:
        assert got["districts"][d][code[cat]] == sum(rate_amount(policy.programme(code[cat]), b) for b in bases)
    assert got["firms"] == 77 and got["total_fen"] == sum(got["programmes"].values())
