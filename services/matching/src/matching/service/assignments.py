"""Many open demands at once: the capacity-respecting assignment that maximises total score.

A proposal for staff (nothing is offered or changed): each open demand of the district gets its
best supplier such that no supplier exceeds its capacity left, or stays open when nothing is
worth more than the penalty; with the fill rate and the certified gap to the optimum over every
supplier (see ``domain/assignment.py``).

Candidates, as ranking each demand alone scores them: each demand's best ``SHORTLIST`` and the score
after them (``top_candidates``), priced from memory. That certifies the gap at once when capacity
does not bind (5,000 city-wide demands with varied capabilities: 74 M scores, ~1 s); when it binds,
the score after the shortlist bounds nothing a price has lowered, so after ``SHORTLIST_ROUNDS`` the
last rounds price every demand against all its eligible suppliers: scored in one batch
(``score_blocks``) when they fit in ``MAX_BATCH_CELLS``, else ranked one by one. The batch is not
the first tool even when it fits: for 2,500 random demands (37 M scores) it took 9-15 s against 1 s,
its first round's per-supplier seeding (meant for contention) giving the flow 5.3 M arcs."""

from __future__ import annotations

import asyncio
from datetime import datetime

import numpy as np
from sqlalchemy import select

from matching.adapters import tables as t
from matching.adapters.repository import _demand_from
from matching.domain.assignment import PricedTopK, Solved, block_pricing, ranked_pricing, shortlist_pricing, solve_priced
from matching.domain.demand import OPEN
from matching.domain.index import SupplierIndex, TooManyScores, score_blocks
from matching.domain.scoring import DemandQuery
from matching.domain.shortlists import top_candidates
from matching.service.ranking import IndexHolder
from opc_shared.auth import Principal
from opc_shared.db import UnitOfWork
from opc_shared.scoping import staff_district

PENALTY = 0.2
K = 10
TOLERANCE = 0.005
MAX_DEMANDS = 5_000
#: Each demand's candidates kept (as the benchmark's random assignment).
SHORTLIST = 64
#: Rounds priced from the shortlists before the exact ones.
SHORTLIST_ROUNDS = 2
#: Scores the exact rounds hold at once (float32: 200 MB at 50 M); above, they rank one by one.
MAX_BATCH_CELLS = 50_000_000


async def propose(uow: UnitOfWork, *, principal: Principal, district: str | None, holder: IndexHolder, now: datetime) -> dict:
    wanted = staff_district(principal, district, roles=("admin",))
    query = select(t.demands).where(t.demands.c.status == OPEN, t.demands.c.firm_id.is_(None))
    if wanted:
        query = query.where(t.demands.c.district == wanted)
    rows = (await uow.session.execute(query.order_by(t.demands.c.created_at).limit(MAX_DEMANDS))).mappings().all()
    demands = [_demand_from(r) for r in rows]
    if not demands:
        return {"demands": 0, "assigned": 0, "fill_rate": 1.0, "certified_gap": 0.0, "items": []}
    queries = [d.query() for d in demands]
    async with holder.held(uow.session, now) as index:  # unchanged until the items name their firms
        capacity = np.array([index.capacity_left(slot) for slot in range(index.size)], dtype=np.int64)
        # Seconds of CPU for thousands of demands (and, on a fresh install, the compiled loops' first
        # compile, ~6 s) run on a worker thread: the event loop keeps its turns meanwhile (the compiled loops
        # release the GIL; Python code hands it over every few milliseconds), so the process goes on
        # answering its other requests and health probes.
        solved = await asyncio.to_thread(solve, index, queries, capacity)
        supplier_of, graph = solved.assignment.supplier_of, solved.graph
        taken = supplier_of[graph.demand] == graph.supplier  # each assigned pair is one arc of the graph
        score = np.full(len(demands), np.nan)
        score[graph.demand[taken]] = graph.score[taken]
        items = []
        for n, demand in enumerate(demands):
            slot = int(supplier_of[n])
            items.append(
                {
                    "demand_id": demand.id,
                    "title": demand.title,
                    "firm_id": index.firm_at(slot) if slot >= 0 else None,
                    "score": float(score[n]) if slot >= 0 else None,
                }
            )
    return {
        "demands": len(demands),
        "assigned": solved.assignment.assigned,
        "fill_rate": round(solved.assignment.fill_rate, 4),
        "certified_gap": round(solved.gap, 6),
        "items": items,
    }


def solve(index: SupplierIndex, queries: list[DemandQuery], capacity: np.ndarray) -> Solved:
    """The assignment of ``queries`` with its certified gap (see the module docstring)."""
    slots, scores, beyond = top_candidates(index, queries, SHORTLIST)
    return solve_priced(
        len(queries),
        capacity,
        shortlist_pricing(slots, scores, beyond, K),
        PENALTY,
        tolerance=TOLERANCE,
        max_rounds=SHORTLIST_ROUNDS,
        final_top_k=_exact_pricing(index, queries),
    )


def _exact_pricing(index: SupplierIndex, queries: list[DemandQuery]) -> PricedTopK:
    """Every demand against all its eligible suppliers, scored on first use."""
    pricing: PricedTopK | None = None

    def top_k(prices: np.ndarray):
        nonlocal pricing
        if pricing is None:
            try:
                pricing = block_pricing(score_blocks(index, queries, max_cells=MAX_BATCH_CELLS), len(queries), K)
            except TooManyScores:
                pricing = ranked_pricing(len(queries), lambda d: index.score(queries[d]), K)
        return pricing(prices)

    return top_k
