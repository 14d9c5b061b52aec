"""The proposal's two candidate paths (``service.assignments.solve``): batched scores and, above the
batch limit, shortlists with exact rounds that rank each demand alone when the shortlists cannot
close the gap. Both certify a gap within the tolerance against the exact full-graph optimum."""

import random

import numpy as np
import pytest

from matching.domain.assignment import CandidateGraph, solve
from matching.domain.index import SupplierIndex, score_blocks
from matching.service import assignments
from matching.synthetic import demand, supplier

HOT = ("digital_human_live", "agent_development")


@pytest.mark.parametrize("demands", [400, 800])
def test_shortlists_certify_the_optimum_under_contention(monkeypatch: pytest.MonkeyPatch, demands: int) -> None:
    """400 hot demands: the shortlists' rounds close the gap. 800: capacity binds (fill 92 %), the
    shortlists' outside bound (the 65th score, unpriced) stays loose and the last rounds are exact."""
    rng = random.Random(41)
    index = SupplierIndex()
    for i in range(1_500):
        index.upsert(supplier(rng, i))
    queries = [demand(rng, hot=HOT) for _ in range(demands)]
    capacity = np.array([index.capacity_left(s) for s in range(index.size)], dtype=np.int64)
    dense = np.full((len(queries), index.size), -np.inf)
    for b in score_blocks(index, queries):
        dense[b.demands[:, None], b.slots[None, :]] = b.score
    eligible = np.isfinite(dense)
    optimum = solve(CandidateGraph.full(np.where(eligible, dense, 0), capacity, eligible=eligible), assignments.PENALTY)
    batched = assignments.solve(index, queries, capacity)
    exact_rounds = []
    ranked_pricing = assignments.ranked_pricing

    def counted(n, scored, k):
        top_k = ranked_pricing(n, scored, k)
        return lambda prices: exact_rounds.append(n) or top_k(prices)

    monkeypatch.setattr(assignments, "MAX_BATCH_CELLS", 0)
    monkeypatch.setattr(assignments, "ranked_pricing", counted)
    shortlisted = assignments.solve(index, queries, capacity)
    shift = assignments.PENALTY * len(queries)
    for solved in (batched, shortlisted):
        true_gap = (optimum.objective - solved.assignment.objective) / (optimum.objective + shift)
        assert solved.bound >= optimum.objective - 1e-6
        assert -1e-9 <= true_gap <= solved.gap <= assignments.TOLERANCE
        load = np.bincount(solved.assignment.supplier_of[solved.assignment.supplier_of >= 0], minlength=index.size)
        assert np.all(load <= capacity)
    assert exact_rounds == ([] if demands == 400 else [demands, demands])
