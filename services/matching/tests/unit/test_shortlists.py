"""``top_candidates`` (capability tables, every eligible supplier scored in one compiled loop, the best
m+1 kept) gives each demand the top it gets ranked alone (``SupplierIndex.score``): the same scores,
the same (m+1)-th score, also after edits, suspensions, full suppliers, with multi-capability
suppliers, exclusions, ties, and suppliers or demands without a price or a district."""

import random
import uuid
from dataclasses import replace

import numpy as np
import pytest

from matching.domain import shortlists
from matching.domain.index import SupplierIndex
from matching.domain.scoring import DemandQuery
from matching.domain.shortlists import top_candidates
from matching.synthetic import demand, supplier

HOT = ("digital_human_live", "agent_development")


def _index(n: int, seed: int) -> SupplierIndex:
    rng = random.Random(seed)
    index = SupplierIndex()
    for i in range(n):
        f = supplier(rng, i)
        if i % 17 == 0:
            f = replace(f, price_min_fen=None)
        elif i % 23 == 0:
            f = replace(f, price_min_fen=0)
        index.upsert(f)
    return index


def _assert_as_one_by_one(index: SupplierIndex, queries: list[DemandQuery], m: int) -> None:
    slots, scores, beyond = top_candidates(index, queries, m)
    for d, query in enumerate(queries):
        one = index.score(query)
        by_slot = dict(zip(one.slots.tolist(), one.score.tolist(), strict=True))
        ordered = np.sort(one.score)[::-1]
        kept = min(m, ordered.size)
        assert scores[d, :kept] == pytest.approx(ordered[:kept], abs=1e-5)
        assert np.all(np.isneginf(scores[d, kept:]))
        assert np.all(np.diff(scores[d, :kept]) <= 0)
        for slot, value in zip(slots[d, :kept].tolist(), scores[d, :kept].tolist(), strict=True):
            assert by_slot[slot] == pytest.approx(value, abs=1e-5)  # eligible, and scored as alone
        assert len(set(slots[d, :kept].tolist())) == kept
        assert beyond[d] == (pytest.approx(ordered[m], abs=1e-5) if ordered.size > m else -np.inf)


@pytest.mark.parametrize("hot", [(), HOT])
def test_top_equals_ranking_one_by_one(hot: tuple[str, ...]) -> None:
    index = _index(1_500, 1)
    rng = random.Random(2)
    queries = [demand(rng, hot=hot) for _ in range(120)]
    _assert_as_one_by_one(index, queries, 12)


def test_ties_go_to_the_lower_slot_and_scores_are_the_same_floats() -> None:
    """Suppliers alike but for their id score alike: the top takes the lowest slots among equal
    scores, and every score is the float ``SupplierIndex.score`` gives (the same operations, in order)."""
    index = _index(300, 13)
    rng = random.Random(14)
    twin = index.live_facts()[0]
    for i in range(40):
        index.upsert(replace(twin, firm_id=uuid.UUID(int=10**6 + i), firm_name=twin.firm_name))
    queries = [replace(demand(rng), capabilities=dict.fromkeys(twin.capabilities, 1), text=twin.description)]
    queries += [demand(rng) for _ in range(30)]
    slots, scores, _ = top_candidates(index, queries, 25)
    for d, query in enumerate(queries):
        one = index.score(query)
        expected = one.slots[np.lexsort((one.slots, -one.score))][:25]
        assert slots[d, : expected.size].tolist() == expected.tolist()
        by_slot = dict(zip(one.slots.tolist(), one.score.tolist(), strict=True))
        assert scores[d, : expected.size].tolist() == [by_slot[s] for s in expected.tolist()]


def test_after_edits_suspensions_and_full_suppliers() -> None:
    """Edited suppliers (new slot, old one tombstoned), suspended or full ones, and suppliers with
    several wanted capabilities (in one table only) score as one by one."""
    index = _index(1_000, 5)
    rng = random.Random(6)
    for f in rng.sample(index.live_facts(), 70):
        index.upsert(replace(f, description=f.description + "，新增熊猫主题短视频案例"))
    for f in rng.sample(index.live_facts(), 40):
        index.upsert(replace(f, matchable=False))
    for f in rng.sample(index.live_facts(), 40):
        index.upsert(replace(f, active_engagements=f.capacity))
    for f in rng.sample(index.live_facts(), 20):
        index.remove(f.firm_id)
    assert index.text.tombstoned_share() > 0
    multi = [f for f in index.live_facts() if len(f.capabilities) >= 3]
    queries = [demand(rng) for _ in range(100)]
    queries += [replace(queries[i], capabilities={code: i + 1 for code in multi[i].capabilities}) for i in range(5)]
    _assert_as_one_by_one(index, queries, 8)


def test_exclusions_leave_the_supplier_out_of_the_top_and_of_the_text_normalisation() -> None:
    index = _index(800, 7)
    rng = random.Random(8)
    queries = [demand(rng) for _ in range(30)]
    for d in range(0, 30, 3):
        scored = index.score(queries[d])
        best_text = int(scored.slots[np.argmax(scored.components["text"])])
        best = int(scored.slots[np.argmax(scored.score)])
        queries[d] = replace(queries[d], exclude=frozenset({index.firm_at(best_text), index.firm_at(best)}))
    _assert_as_one_by_one(index, queries, 6)


def test_demands_without_budget_district_known_capabilities_or_matching_words() -> None:
    index = _index(600, 9)
    rng = random.Random(10)
    base = [demand(rng) for _ in range(12)]
    queries = [
        replace(base[0], budget_max_fen=None),
        replace(base[1], district=None),
        replace(base[2], district="nowhere"),
        replace(base[3], text="完全无关的词语组合"),
        replace(base[4], text=""),
        replace(base[5], capabilities={**base[5].capabilities, "unknown_code": 2}),
        replace(base[6], capabilities={"unknown_code": 1}),
        replace(base[7], budget_max_fen=1),
        replace(base[8], budget_max_fen=10**12),
        *base[9:],
    ]
    _assert_as_one_by_one(index, queries, 5)


def test_fewer_eligible_suppliers_than_the_top() -> None:
    index = _index(40, 11)
    rng = random.Random(12)
    queries = [demand(rng) for _ in range(20)]
    _assert_as_one_by_one(index, queries, 15)
    _, scores, beyond = top_candidates(SupplierIndex(), queries, 4)
    assert np.all(np.isneginf(scores)) and np.all(np.isneginf(beyond))


def test_threads_split_the_demands_and_give_the_same_top(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scoring on three threads (each with its share of the demands and its own buffers) gives
    every demand exactly what one thread gives it."""
    index = _index(1_200, 15)
    rng = random.Random(16)
    queries = [demand(rng) for _ in range(90)]
    alone = top_candidates(index, queries, 10, threads=1)
    monkeypatch.setattr(shortlists, "_WORK_PER_THREAD", 1_000)
    started = []
    pool = shortlists.ThreadPoolExecutor

    def counted(workers: int, **kwargs):
        started.append(workers)
        return pool(workers, **kwargs)

    monkeypatch.setattr(shortlists, "ThreadPoolExecutor", counted)
    shared = top_candidates(index, queries, 10, threads=3)
    assert started == [3]
    for one, other in zip(alone, shared, strict=True):
        assert np.array_equal(one, other)
