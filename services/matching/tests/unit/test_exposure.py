import uuid
from datetime import UTC, datetime, timedelta

import pytest

from matching.domain.exposure import gini, report
from matching.domain.index import SupplierIndex
from matching.domain.scoring import DemandQuery, SupplierFacts, Weights


def test_gini_of_known_distributions() -> None:
    assert gini([5, 5, 5, 5]) == 0
    assert gini([0, 0, 0, 12]) == pytest.approx(0.75)
    assert gini([1, 2, 3, 4]) == pytest.approx(0.25)
    assert gini([]) == 0


def test_report_counts_offers_in_the_last_30_days_only() -> None:
    now = datetime(2026, 11, 22, tzinfo=UTC)
    r = report("wuhou", {"a": 3, "b": 0, "c": 1, "d": 0}, {"a": [now - timedelta(days=3)], "c": [now - timedelta(days=31)]}, now)
    assert r.share_with_offer_30d == 0.25 and r.offers_30d == 1 and r.active_suppliers == 4


def simulate(weights: Weights, rounds: int = 300, shown: int = 5) -> tuple[float, float]:
    """60 capable suppliers, 10 of them famous (rated, wordy); every demand shows the top 5 and
    each impression counts. Returns (exposure Gini, mean unfair-score of what was shown)."""
    index = SupplierIndex(weights)
    neutral = SupplierIndex(Weights(fairness=0))
    facts = []
    for i in range(60):
        famous = i < 10
        f = SupplierFacts(
            firm_id=uuid.UUID(int=i + 1),
            firm_name=f"供给方{i}",
            district="wuhou",
            capabilities=("video_editing",),
            description="文旅短视频剪辑 调色 后期 宣传片" + (" 剪辑 宣传片" if famous else ""),
            capacity=3,
            price_min_fen=500_000,
            rating_sum=20 if famous else 0,
            rating_count=5 if famous else 0,
        )
        facts.append(f)
        index.upsert(f)
        neutral.upsert(f)
    exposures = {f.firm_id: 0 for f in facts}
    relevance = []
    query = DemandQuery("文旅宣传片短视频剪辑", {"video_editing": 1}, budget_max_fen=1_000_000, district="wuhou")
    base = {c.firm_id: c.score for c in neutral.rank(query, limit=60)}
    for _ in range(rounds):
        for c in index.rank(query, limit=shown):
            exposures[c.firm_id] += 1
            relevance.append(base[c.firm_id])
            index.set_exposure(c.firm_id, exposures[c.firm_id])
    return gini(list(exposures.values())), sum(relevance) / len(relevance)


def test_the_fairness_term_spreads_exposure_at_a_small_relevance_cost() -> None:
    unfair_gini, unfair_relevance = simulate(Weights(fairness=0))
    fair_gini, fair_relevance = simulate(Weights())
    cost = 1 - fair_relevance / unfair_relevance
    print(f"exposure Gini {unfair_gini:.3f} → {fair_gini:.3f}; mean score of shown suppliers −{cost:.1%}")
    assert unfair_gini > 0.8  # without the term the same five take every impression
    assert fair_gini < unfair_gini - 0.3
    assert cost < 0.12
