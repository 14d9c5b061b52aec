"""Many open demands at once: the capacity-respecting assignment that maximises total score.

A proposal for staff (nothing is offered or changed): each open demand of the district gets its
best supplier such that no supplier exceeds its capacity left, or stays open when nothing is
worth more than the penalty; with the fill rate and the certified gap to the optimum over every
supplier (see ``domain/assignment.py``).

Candidates come one of two ways, both as ranking each demand alone scores them. When every
(demand, eligible supplier) score fits in ``MAX_BATCH_CELLS``, they are scored in one batch
(``score_blocks``) and every pricing round is exact over all of them. Above (thousands of
city-wide demands with varied capabilities: hundreds of millions of scores), each demand keeps its
best ``SHORTLIST`` and the score after them (``top_candidates``); rounds price from those, and only
if they leave the gap above the tolerance do the last rounds rank each demand alone."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from sqlalchemy import select

from matching.adapters import tables as t
from matching.adapters.repository import _demand_from
from matching.domain.assignment import Solved, block_pricing, ranked_pricing, shortlist_pricing, solve_priced
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
#: Scores held at once (float32: 200 MB at 50 M); above, each demand's shortlist is used.
MAX_BATCH_CELLS = 50_000_000
#: Each demand's candidates kept when its scores are not held (the benchmark's random assignment).
SHORTLIST = 64
#: Rounds priced from the shortlists before the exact rounds (which rank each demand alone).
SHORTLIST_ROUNDS = 4


async def propose(uow: UnitOfWork, *, principal: Principal, district: str | None, holder: IndexHolder, now: datetime) -> dict:
    wanted = staff_district(principal, district, roles=("admin",))
    query = select(t.demands).where(t.demands.c.status == OPEN, t.demands.c.firm_id.is_(None))
    if wanted:
        query = query.where(t.demands.c.district == wanted)
    rows = (await uow.session.execute(query.order_by(t.demands.c.created_at).limit(MAX_DEMANDS))).mappings().all()
    demands = [_demand_from(r) for r in rows]
    if not demands:
        return {"demands": 0, "assigned": 0, "fill_rate": 1.0, "certified_gap": 0.0, "items": []}
    index = await holder.fresh(uow.session, now)
    capacity = np.array([index.capacity_left(slot) for slot in range(index.size)], dtype=np.int64)
    solved = solve(index, [d.query() for d in demands], capacity)
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
    """The assignment of ``queries`` with its certified gap, from batched scores or shortlists."""
    n = len(queries)
    try:
        blocks = score_blocks(index, queries, max_cells=MAX_BATCH_CELLS)
    except TooManyScores:
        slots, scores, beyond = top_candidates(index, queries, SHORTLIST)
        return solve_priced(
            n,
            capacity,
            shortlist_pricing(slots, scores, beyond, K),
            PENALTY,
            tolerance=TOLERANCE,
            max_rounds=SHORTLIST_ROUNDS,
            final_top_k=ranked_pricing(n, lambda d: index.score(queries[d]), K),
        )
    return solve_priced(n, capacity, block_pricing(blocks, n, K), PENALTY, tolerance=TOLERANCE)
