import itertools

import numpy as np
import pytest

from matching.domain.assignment import CandidateGraph, gap, solve, solve_priced, upper_bound


def brute_force(scores: np.ndarray, capacity: np.ndarray, penalty: float) -> float:
    n, m = scores.shape
    best = -np.inf
    for combo in itertools.product(range(-1, m), repeat=n):
        load = np.bincount([s for s in combo if s >= 0], minlength=m)
        if (load <= capacity).all():
            best = max(best, sum(scores[d, s] if s >= 0 else -penalty for d, s in enumerate(combo)))
    return best


@pytest.mark.parametrize("seed", range(8))
def test_equals_the_exact_optimum_on_small_instances(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.random((6, 4))
    capacity = rng.integers(1, 3, size=4)
    penalty = 0.3
    result = solve(CandidateGraph.full(scores, capacity), penalty)
    assert result.objective == pytest.approx(brute_force(scores, capacity, penalty), abs=1e-5)
    load = np.bincount(result.supplier_of[result.supplier_of >= 0], minlength=4)
    assert (load <= capacity).all()


def test_unassigned_when_every_supplier_scores_below_the_penalty_threshold() -> None:
    scores = np.array([[0.9, 0.8], [0.7, 0.6], [0.65, 0.5]])
    result = solve(CandidateGraph.full(scores, np.array([1, 1])), penalty=-0.55)  # arcs below 0.55 are not worth it
    assert list(result.supplier_of) == [1, 0, -1] and result.fill_rate == pytest.approx(2 / 3)


@pytest.mark.parametrize("contended", [False])
def test_top_k_graph_is_within_one_percent_of_the_full_optimum(contended: bool) -> None:
    rng = np.random.default_rng(11)
    n, m = 400, 1200
    scores = rng.random((n, m)) * 0.6
    if contended:  # most demands want the same few suppliers
        scores[:, :40] += 0.4
        capacity = rng.integers(1, 4, size=m)
    else:
        capacity = rng.integers(1, 3, size=m)
    penalty = 0.2
    exact = solve(CandidateGraph.full(scores, capacity), penalty)
    graph = CandidateGraph.top_k(scores, capacity, 20)
    approx = solve(graph, penalty)
    assert approx.objective <= exact.objective + 1e-6
    true_gap = (exact.objective - approx.objective) / (exact.objective + penalty * n)
    assert true_gap <= 0.01
    bound = upper_bound(graph, approx, penalty)
    assert bound >= exact.objective - 1e-6  # the certificate is a real upper bound
    print(f"contended={contended} gap to exact {true_gap:.5f}, certified ≤ {gap(bound, approx.objective, penalty, n):.5f}")


def dense_top_k(scores: np.ndarray, k: int):
    def top_k(prices: np.ndarray):
        reduced = scores - prices[None, :]
        order = np.argsort(-reduced, axis=1, kind="stable")
        chosen = order[:, :k]
        rows = np.arange(scores.shape[0])
        outside = reduced[rows, order[:, k]]
        d = np.repeat(rows, k)
        s = chosen.reshape(-1)
        return d, s, scores[d, s], outside

    return top_k


@pytest.mark.parametrize("contended", [False, True])
def test_priced_top_k_is_within_one_percent_of_the_full_optimum(contended: bool) -> None:
    rng = np.random.default_rng(5)
    n, m = 400, 1200
    scores = rng.random((n, m)) * 0.6
    if contended:
        scores[:, :40] += 0.4
    capacity = rng.integers(1, 4, size=m)
    penalty = 0.2
    exact = solve(CandidateGraph.full(scores, capacity), penalty)
    solved = solve_priced(n, capacity, dense_top_k(scores, 10), penalty, tolerance=0.005)
    true_gap = (exact.objective - solved.assignment.objective) / (exact.objective + penalty * n)
    assert solved.bound >= exact.objective - 1e-6 and solved.gap >= true_gap - 1e-9
    assert true_gap <= 0.01 and solved.gap <= 0.01
    print(f"contended={contended} rounds={solved.rounds} gap to exact {true_gap:.5f} certified ≤ {solved.gap:.5f}")


@pytest.mark.parametrize("seed", range(4))
def test_dual_prices_certify_the_optimum_of_a_full_graph(seed: int) -> None:
    from matching.domain.assignment import dual_prices, priced_bound

    rng = np.random.default_rng(seed)
    scores = rng.random((60, 30)) * 0.6
    scores[:, :5] += 0.4  # contended: everyone wants the first five
    capacity = rng.integers(1, 3, size=30)
    graph = CandidateGraph.full(scores, capacity)
    result = solve(graph, 0.2)
    prices = dual_prices(graph, result, 0.2)
    bound = priced_bound(graph, result, 0.2, prices, np.full(60, -np.inf))
    assert bound == pytest.approx(result.objective, abs=1e-4)  # LP of a bipartite b-matching is integral
    assert upper_bound(graph, result, 0.2) >= bound - 1e-9  # the heuristic prices are never better
