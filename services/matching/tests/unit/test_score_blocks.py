"""Batched scoring (``score_blocks``) equals ranking one demand at a time, and pricing over the
blocks gives the same certified assignment as pricing over a dense matrix of those scores."""

import random
from dataclasses import replace

import numpy as np
import pytest

from matching.domain.assignment import CandidateGraph, block_pricing, solve, solve_priced
from matching.domain.index import SupplierIndex, score_blocks
from matching.domain.scoring import price_fit
from matching.domain.shortlists import top_candidates
from matching.synthetic import demand, supplier

HOT = ("digital_human_live", "agent_development")


def _index(n: int, seed: int) -> SupplierIndex:
    rng = random.Random(seed)
    index = SupplierIndex()
    for i in range(n):
        index.upsert(supplier(rng, i))
    return index


@pytest.mark.parametrize("hot", [(), HOT])
def test_blocks_equal_scores_ranked_one_by_one(hot: tuple[str, ...]) -> None:
    index = _index(600, 3)
    rng = random.Random(4)
    queries = [demand(rng, hot=hot) for _ in range(80)]
    excluded = index.firm_at(int(index.score(queries[0]).slots[0]))
    queries[0] = replace(queries[0], exclude=frozenset({excluded}))
    blocks = score_blocks(index, queries)
    assert sorted(int(d) for b in blocks for d in b.demands) == list(range(80))
    for block in blocks:
        for row, d in enumerate(block.demands.tolist()):
            one = index.score(queries[d])
            batch = dict(zip(block.slots.tolist(), block.score[row].tolist(), strict=True))
            assert {s for s, v in batch.items() if np.isfinite(v)} == set(one.slots.tolist())
            for slot, value in zip(one.slots.tolist(), one.score.tolist(), strict=True):
                assert batch[slot] == pytest.approx(value, abs=1e-5)
    with pytest.raises(ValueError):
        score_blocks(index, queries, max_cells=10)


def test_block_pricing_certifies_against_the_exact_optimum() -> None:
    index = _index(1_500, 5)
    rng = random.Random(6)
    queries = [demand(rng, hot=HOT) for _ in range(400)]
    blocks = score_blocks(index, queries)
    capacity = np.array([index.capacity_left(s) for s in range(index.size)], dtype=np.int64)
    dense = np.full((400, index.size), -np.inf)
    for b in blocks:
        dense[b.demands[:, None], b.slots[None, :]] = b.score
    exact = solve(CandidateGraph.full(np.where(np.isfinite(dense), dense, 0), capacity, eligible=np.isfinite(dense)), 0.2)
    solved = solve_priced(400, capacity, block_pricing(blocks, 400, 5), 0.2, tolerance=0.005)
    true_gap = (exact.objective - solved.assignment.objective) / (exact.objective + 0.2 * 400)
    assert solved.bound >= exact.objective - 1e-6
    assert -1e-9 <= true_gap <= solved.gap <= 0.005


def test_top_candidates_equal_each_demands_own_top() -> None:
    index = _index(800, 7)
    rng = random.Random(8)
    queries = [demand(rng) for _ in range(60)]
    slots, scores, beyond = top_candidates(index, queries, 12)
    for d, query in enumerate(queries):
        one = index.score(query)
        ordered = np.sort(one.score)[::-1]
        kept = min(12, ordered.size)
        assert scores[d, :kept] == pytest.approx(ordered[:kept], abs=1e-5)
        assert set(slots[d, :kept].tolist()) <= set(one.slots.tolist())
        assert beyond[d] == (pytest.approx(ordered[12], abs=1e-5) if ordered.size > 12 else -np.inf)


def test_shared_postings_after_edits_and_suspensions_equal_one_by_one() -> None:
    """The per-capability postings are shared by every group: suppliers edited (new slot, the old
    one tombstoned), suspended or full, and suppliers with several wanted capabilities (their
    postings in two lists) still score as one by one, in many small groups at once."""
    index = _index(900, 9)
    rng = random.Random(10)
    live = index.live_facts()
    for f in rng.sample(live, 60):
        index.upsert(replace(f, description=f.description + "，新增熊猫主题短视频案例"))
    for f in rng.sample(index.live_facts(), 40):
        index.upsert(replace(f, matchable=False))
    for f in rng.sample(index.live_facts(), 40):
        index.upsert(replace(f, active_engagements=f.capacity))
    assert index.text.tombstoned_share() > 0
    multi = [f for f in index.live_facts() if len(f.capabilities) >= 2]
    assert multi
    queries = [demand(rng) for _ in range(150)]
    queries += [replace(queries[0], capabilities={code: 1 for code in multi[0].capabilities})]
    blocks = score_blocks(index, queries)
    assert len(blocks) > 20  # many small groups sharing capabilities
    for block in blocks:
        for row, d in enumerate(block.demands.tolist()):
            one = index.score(queries[d])
            assert block.slots.tolist() == one.slots.tolist()
            assert block.score[row] == pytest.approx(one.score, abs=1e-5)
    slots, scores, _ = top_candidates(index, queries, 8)
    for d, query in enumerate(queries):
        one = index.score(query)
        ordered = np.sort(one.score)[::-1][:8]
        assert scores[d, : ordered.size] == pytest.approx(ordered, abs=1e-5)
        assert set(slots[d, : ordered.size].tolist()) <= set(one.slots.tolist())


def test_a_free_supplier_fits_a_zero_budget_in_every_path() -> None:
    """Budget 0 and floor 0: the floor is within the budget, so the price fit is 1 (``price_fit``),
    in the batched and shortlisted paths as in ranking one by one; a positive floor fits 0."""
    index = _index(300, 13)
    for i, f in enumerate(index.live_facts()[:40]):
        index.upsert(replace(f, price_min_fen=0 if i % 2 else 500_000))
    rng = random.Random(14)
    queries = [replace(demand(rng), budget_max_fen=0) for _ in range(30)]
    assert price_fit(0, 0) == 1.0 and price_fit(500_000, 0) == 0.0
    free = {index._slot[f.firm_id] for f in index.live_facts() if f.price_min_fen == 0}
    checked = 0
    for block in score_blocks(index, queries):
        for row, d in enumerate(block.demands.tolist()):
            one = index.score(queries[d])
            checked += len(free & set(one.slots.tolist()))
            assert all(one.components["price"][np.isin(one.slots, list(free))] == 1.0)
            assert block.score[row] == pytest.approx(one.score, abs=1e-5)
    assert checked
    _, scores, _ = top_candidates(index, queries, 5)
    for d, query in enumerate(queries):
        assert scores[d] == pytest.approx(np.sort(index.score(query).score)[::-1][:5], abs=1e-5)


def test_excluded_suppliers_are_left_out_of_the_text_normalisation() -> None:
    """A demand's best text match excluded (declined, taken): the rest are normalised by the best
    text match left, as ranking one by one does."""
    index = _index(600, 15)
    rng = random.Random(16)
    queries = [demand(rng) for _ in range(40)]
    for d in range(0, 40, 2):
        scored = index.score(queries[d])
        queries[d] = replace(
            queries[d], exclude=frozenset({index.firm_at(int(scored.slots[np.argmax(scored.components["text"])]))})
        )
    for block in score_blocks(index, queries):
        for row, d in enumerate(block.demands.tolist()):
            one = index.score(queries[d])
            batch = block.score[row][np.isin(block.slots, one.slots)]
            assert batch == pytest.approx(one.score, abs=1e-5)
