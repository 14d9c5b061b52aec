"""Many open demands to suppliers at once: maximum total score under capacities, exactly.

The problem: each demand takes at most one supplier, supplier ``s`` at most ``capacity[s]``
demands; assigning ``d`` to ``s`` earns ``score(d, s)``; leaving ``d`` unassigned costs
``penalty``. With ``w' = score + penalty`` it is a maximum-weight b-matching, solved exactly as
a min-cost flow (OR-Tools) on a candidate graph: for each demand its top-K suppliers of the
full ranking. Scores enter the solver as integers (rounded half-even to 1e-6); the objective
reported is recomputed from the unrounded scores.

``upper_bound`` certifies how far the top-K answer can be from the optimum of the *full*
problem (every supplier a candidate for every demand) without solving it: LP duality gives
``Σ_s cap_s·u_s + Σ_d max(0, max_s (w'_ds − u_s))`` for any prices ``u ≥ 0``, and for a supplier
outside a demand's top-K, ``w'_ds ≤`` the (K+1)-th best score, which the ranking knows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from ortools.graph.python import min_cost_flow

from matching.domain.index import Scored

SCALE = 1_000_000


@dataclass(frozen=True)
class CandidateGraph:
    """Arcs as parallel arrays; ``outside[d]`` bounds every score of ``d`` not in the graph (−inf if none)."""

    n_demands: int
    capacity: np.ndarray  # per supplier, int
    demand: np.ndarray  # arc → demand index
    supplier: np.ndarray  # arc → supplier index
    score: np.ndarray  # arc → score (float)
    outside: np.ndarray  # per demand

    @staticmethod
    def full(scores: np.ndarray, capacity: np.ndarray, *, eligible: np.ndarray | None = None) -> CandidateGraph:
        """Every (demand, supplier) pair an arc (for instances small enough to solve exactly)."""
        d, s = np.nonzero(eligible if eligible is not None else np.ones_like(scores, dtype=bool))
        return CandidateGraph(scores.shape[0], capacity, d, s, scores[d, s].astype(np.float64), np.full(scores.shape[0], -np.inf))

    @staticmethod
    def top_k(scores: np.ndarray, capacity: np.ndarray, k: int) -> CandidateGraph:
        """The top-K suppliers per row of a dense score matrix (tests; the service builds from the index)."""
        n, m = scores.shape
        k = min(k, m)
        order = np.argsort(-scores, axis=1, kind="stable")
        chosen = order[:, :k]
        outside = scores[np.arange(n), order[:, k]] if k < m else np.full(n, -np.inf)
        d = np.repeat(np.arange(n), k)
        s = chosen.reshape(-1)
        return CandidateGraph(n, capacity, d, s, scores[d, s].astype(np.float64), outside.astype(np.float64))


@dataclass(frozen=True)
class Assignment:
    supplier_of: np.ndarray  # per demand: supplier index or -1
    objective: float  # Σ scores of assigned − penalty × unassigned
    assigned: int
    n_demands: int

    @property
    def fill_rate(self) -> float:
        return self.assigned / self.n_demands if self.n_demands else 1.0


def solve(graph: CandidateGraph, penalty: float) -> Assignment:
    n = graph.n_demands
    keep = graph.score + penalty > 0  # an arc worth less than leaving the demand open never helps
    dem, sup, score = graph.demand[keep], graph.supplier[keep], graph.score[keep]
    used, sup_node = np.unique(sup, return_inverse=True)
    sink = n + used.size
    flow = min_cost_flow.SimpleMinCostFlow()
    supplier_nodes = n + np.arange(used.size)
    # demand → supplier (1 unit, −w'), supplier → sink (its capacity), demand → sink (left open, 0)
    tails = np.concatenate([dem, supplier_nodes, np.arange(n)]).astype(np.int32)
    heads = np.concatenate([n + sup_node, np.full(used.size, sink), np.full(n, sink)]).astype(np.int32)
    caps = np.concatenate([np.ones(dem.size), graph.capacity[used], np.ones(n)]).astype(np.int64)
    costs = np.concatenate([-np.rint((score + penalty) * SCALE), np.zeros(used.size), np.zeros(n)]).astype(np.int64)
    arcs = flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    supplies = np.zeros(sink + 1, dtype=np.int64)
    supplies[:n] = 1
    supplies[sink] = -n
    flow.set_nodes_supplies(np.arange(sink + 1, dtype=np.int32), supplies)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow ended with status {status}")
    flows = flow.flows(arcs[: dem.size])
    chosen = flows > 0
    supplier_of = np.full(n, -1, dtype=np.int64)
    supplier_of[dem[chosen]] = used[sup_node[chosen]]
    assigned = int(chosen.sum())
    objective = float(score[chosen].sum()) - penalty * (n - assigned)
    return Assignment(supplier_of, objective, assigned, n)


def upper_bound(graph: CandidateGraph, result: Assignment, penalty: float) -> float:
    """An upper bound on the full problem's optimum (same units as ``Assignment.objective``)."""
    n = graph.n_demands
    w = graph.score + penalty
    outside = np.maximum(graph.outside + penalty, 0.0)
    load = np.bincount(result.supplier_of[result.supplier_of >= 0], minlength=graph.capacity.size)
    saturated = load >= graph.capacity
    # Best alternative of each demand among suppliers that are not full (and outside the graph).
    open_arc = ~saturated[graph.supplier]
    alt = outside.copy()
    np.maximum.at(alt, graph.demand[open_arc], np.maximum(w[open_arc], 0.0))
    # Price of a full supplier: the least any of its demands gains over that alternative.
    assigned_arc = result.supplier_of[graph.demand] == graph.supplier
    prices = np.full(graph.capacity.size, np.inf)
    np.minimum.at(prices, graph.supplier[assigned_arc], w[assigned_arc] - alt[graph.demand[assigned_arc]])
    prices = np.where(saturated & np.isfinite(prices), np.maximum(prices, 0.0), 0.0)
    best = outside.copy()
    np.maximum.at(best, graph.demand, w - prices[graph.supplier])
    bound = float((graph.capacity * prices).sum()) + float(np.maximum(best, 0.0).sum())
    return bound - penalty * n


def gap(bound: float, objective: float, penalty: float, n_demands: int) -> float:
    """Relative gap on the shifted objective Σ(score + penalty) over assigned demands (≥ 0)."""
    shift = penalty * n_demands
    return 0.0 if bound + shift <= 0 else max(0.0, (bound - objective) / (bound + shift))


#: ``top_k(prices)`` → (demand, supplier, score, outside): each demand's K best suppliers by
#: ``score − prices[supplier]``, with the unpriced scores, and per demand a bound on
#: ``score − price`` of every supplier it did not return.
PricedTopK = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Solved:
    assignment: Assignment
    graph: CandidateGraph
    bound: float
    gap: float
    rounds: int


def dual_prices(graph: CandidateGraph, result: Assignment, penalty: float, max_iterations: int = 5_000) -> np.ndarray:
    """Optimal LP dual prices of the suppliers for the graph: from shortest-path potentials in the
    residual network of the optimal flow (Bellman–Ford, vectorised, on the solver's integer costs).

    With potentials ``π = −dist``, ``u_s = max(0, π_s − π_sink)`` and ``v_d = max(0, max(w' − u))``
    are dual-feasible and complementary to the flow, so the bound they give equals the graph's
    optimum; only the outside term can loosen it. Falls back to ``supplier_prices`` if the
    relaxation does not settle within ``max_iterations``."""
    n, m = graph.n_demands, graph.capacity.size
    sink = n + m
    keep = graph.score + penalty > 0
    dem, sup = graph.demand[keep], graph.supplier[keep]
    w = np.rint((graph.score[keep] + penalty) * SCALE)
    used = result.supplier_of[dem] == sup
    load = np.bincount(result.supplier_of[result.supplier_of >= 0], minlength=m)
    assigned = result.supplier_of >= 0
    tails = np.concatenate([dem[~used], n + sup[used]])
    heads = np.concatenate([n + sup[~used], dem[used]])
    costs = np.concatenate([-w[~used], w[used]])
    room = np.flatnonzero(load < graph.capacity)
    busy = np.flatnonzero(load > 0)
    open_d = np.flatnonzero(~assigned)
    done_d = np.flatnonzero(assigned)
    tails = np.concatenate([tails, n + room, np.full(busy.size, sink), done_d, np.full(open_d.size, sink)])
    heads = np.concatenate([heads, np.full(room.size, sink), n + busy, np.full(done_d.size, sink), open_d])
    costs = np.concatenate([costs, np.zeros(room.size + busy.size + done_d.size + open_d.size)])
    # arcs sorted by head once, so each relaxation is a gather, an add and a segmented minimum
    order = np.argsort(heads, kind="stable")
    tails, heads, costs = tails[order], heads[order], costs[order]
    targets, starts = np.unique(heads, return_index=True)
    dist = np.zeros(sink + 1)
    for _ in range(max_iterations):
        best = np.minimum.reduceat(dist[tails] + costs, starts) if tails.size else np.zeros(0)
        better = best < dist[targets]
        if not better.any():
            return np.maximum(dist[sink] - dist[n : n + m], 0.0) / SCALE
        dist[targets[better]] = best[better]
    return supplier_prices(graph, result, penalty)


def supplier_prices(graph: CandidateGraph, result: Assignment, penalty: float) -> np.ndarray:
    """Dual prices of full suppliers (see ``upper_bound``); 0 for suppliers with room left."""
    w = graph.score + penalty
    outside = np.maximum(graph.outside + penalty, 0.0)
    load = np.bincount(result.supplier_of[result.supplier_of >= 0], minlength=graph.capacity.size)
    saturated = load >= graph.capacity
    open_arc = ~saturated[graph.supplier]
    alt = outside.copy()
    np.maximum.at(alt, graph.demand[open_arc], np.maximum(w[open_arc], 0.0))
    assigned_arc = result.supplier_of[graph.demand] == graph.supplier
    prices = np.full(graph.capacity.size, np.inf)
    np.minimum.at(prices, graph.supplier[assigned_arc], w[assigned_arc] - alt[graph.demand[assigned_arc]])
    return np.where(saturated & np.isfinite(prices), np.maximum(prices, 0.0), 0.0)


def solve_priced(
    n_demands: int,
    capacity: np.ndarray,
    top_k: PricedTopK,
    penalty: float,
    *,
    tolerance: float = 0.005,
    max_rounds: int = 6,
    final_top_k: PricedTopK | None = None,
) -> Solved:
    """Top-K graph, solved; while the certified gap exceeds ``tolerance``, the full suppliers are
    priced and every demand's top-K by price-reduced score is added (column generation).

    ``top_k`` may be a cheap approximation whose outside bound is loose (a cached shortlist);
    ``final_top_k``, when given, prices against every supplier and is used for the last rounds
    once ``top_k`` stops closing the gap, so the reported bound is the exact LP-dual bound."""
    prices = np.zeros(capacity.size)
    m = max(int(capacity.size), 1)
    keys = np.zeros(0, dtype=np.int64)  # demand·m + supplier of every arc already in the graph
    demand_parts, supplier_parts, score_parts = [], [], []
    pricing = top_k
    final_rounds = 0
    for round_no in range(1, max_rounds + (2 if final_top_k else 0) + 1):
        d, s, sc, outside = pricing(prices)
        key = d.astype(np.int64) * m + s
        key, first = np.unique(key, return_index=True)
        fresh = first[~np.isin(key, keys, assume_unique=True)]
        keys = np.union1d(keys, key)
        demand_parts.append(d[fresh])
        supplier_parts.append(s[fresh])
        score_parts.append(sc[fresh])
        graph = CandidateGraph(
            n_demands,
            capacity,
            np.concatenate(demand_parts),
            np.concatenate(supplier_parts),
            np.concatenate(score_parts).astype(np.float64),
            np.full(n_demands, -np.inf),
        )
        result = solve(graph, penalty)
        bound = priced_bound(graph, result, penalty, prices, outside)
        g = gap(bound, result.objective, penalty, n_demands)
        if pricing is final_top_k:
            final_rounds += 1
        if g <= tolerance or (final_top_k is None and round_no >= max_rounds) or final_rounds >= 2:
            return Solved(result, replace(graph, outside=outside), bound, g, round_no)
        prices = dual_prices(graph, result, penalty)
        if final_top_k is not None and round_no >= max_rounds:
            pricing = final_top_k
    raise AssertionError("unreachable")


def priced_bound(graph: CandidateGraph, result: Assignment, penalty: float, prices: np.ndarray, outside: np.ndarray) -> float:
    """The LP-dual bound under ``prices`` (those ``outside`` was computed with): see module docstring."""
    w = graph.score + penalty
    best = np.maximum(outside + penalty, 0.0)
    np.maximum.at(best, graph.demand, w - prices[graph.supplier])
    return float((graph.capacity * prices).sum()) + float(best.sum()) - penalty * graph.n_demands


def block_pricing(blocks: list, n_demands: int, k: int, *, per_supplier: int = 6) -> PricedTopK:
    """Exact pricing over score tables (``index.ScoreBlock``: demands × every supplier eligible for
    them): each demand's top-K by ``score − price`` and, as its outside bound, the (K+1)-th best
    reduced score over *all* its eligible suppliers, one vectorised pass per block.

    Under contention the demands' top-K by raw score pile onto the same few suppliers, so the
    first graph would leave most of a hot group without arcs and its duals could not price them
    (column generation then needs many rounds). The first call therefore also gives every
    supplier its ``per_supplier`` best demands: the first graph reaches the whole group."""
    calls = [0]

    def top_k(prices: np.ndarray):
        ds, ss, scs = [], [], []
        outside = np.full(n_demands, -np.inf)
        calls[0] += 1
        for block in blocks:
            m = block.slots.size
            if m == 0:
                continue
            if calls[0] == 1 and per_supplier > 0 and block.demands.size > per_supplier:
                by_supplier = np.ascontiguousarray(block.score.T)  # m × demands: rows partition fast
                col = np.argpartition(-by_supplier, per_supplier - 1, axis=1)[:, :per_supplier]
                sc = np.take_along_axis(by_supplier, col, axis=1)
                keep = np.isfinite(sc)
                ds.append(block.demands[col][keep])
                ss.append(np.broadcast_to(block.slots[:, None], col.shape)[keep])
                scs.append(sc[keep].astype(np.float64))
            reduced = block.score - prices[block.slots].astype(np.float32)[None, :]
            kk = min(k, m)
            if m > kk:
                part = np.argpartition(-reduced, kk, axis=1)
                chosen = part[:, :kk]
                rows = np.arange(block.demands.size)
                # float32 arithmetic: nudged up by 1e-6 (above its rounding) so it stays a bound
                outside[block.demands] = reduced[rows, part[:, kk]].astype(np.float64) + 1e-6
            else:
                chosen = np.broadcast_to(np.arange(m), (block.demands.size, m))
            sc = np.take_along_axis(block.score, chosen, axis=1)
            keep = np.isfinite(sc)
            ds.append(np.broadcast_to(block.demands[:, None], chosen.shape)[keep])
            ss.append(block.slots[chosen][keep])
            scs.append(sc[keep].astype(np.float64))
        if not ds:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), outside
        return np.concatenate(ds), np.concatenate(ss), np.concatenate(scs), outside

    return top_k


def shortlist_pricing(slots: np.ndarray, scores: np.ndarray, beyond: np.ndarray, k: int) -> PricedTopK:
    """Pricing from each demand's shortlist held in memory (``shortlists.top_candidates``: its best
    ``m > k`` slots and scores, −inf padded, and its (m+1)-th score ``beyond``): its top-K by
    ``score − price`` and, as outside bound, the larger of the (K+1)-th reduced score of the
    shortlist and ``beyond`` (prices are ≥ 0, so no supplier left out reduces above it)."""
    if slots.shape[1] <= k:
        raise ValueError(f"a shortlist of {slots.shape[1]} cannot price a top-{k}")
    rows = np.arange(slots.shape[0])

    def top_k(prices: np.ndarray):
        reduced = scores - prices[slots]
        order = np.argsort(-reduced, axis=1, kind="stable")
        chosen = order[:, :k]
        outside = np.maximum(reduced[rows, order[:, k]], beyond)
        d = np.repeat(rows, k)
        s = slots[rows[:, None], chosen].reshape(-1)
        sc = scores[rows[:, None], chosen].reshape(-1)
        keep = np.isfinite(sc)
        return d[keep], s[keep], sc[keep], outside

    return top_k


def ranked_pricing(n_demands: int, scored: Callable[[int], Scored], k: int) -> PricedTopK:
    """Exact pricing one demand at a time: ``scored(d)`` is demand ``d`` ranked alone (its eligible
    slots and their scores); its top-K by ``score − price`` and the (K+1)-th reduced score.
    Slow (a ranking per demand and pass): the last resort of ``solve_priced``'s ``final_top_k``."""

    def top_k(prices: np.ndarray):
        ds, ss, scs, outside = [], [], [], np.full(n_demands, -np.inf)
        for d in range(n_demands):
            one = scored(d)
            slots, score = one.slots, one.score
            reduced = score - prices[slots]
            if reduced.size > k:
                part = np.argpartition(-reduced, k)
                chosen = part[:k]
                outside[d] = reduced[part[k:]].max()
            else:
                chosen = np.arange(reduced.size)
            ds.append(np.full(chosen.size, d))
            ss.append(slots[chosen])
            scs.append(score[chosen].astype(np.float64))
        if not ds:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), outside
        return np.concatenate(ds), np.concatenate(ss), np.concatenate(scs), outside

    return top_k
