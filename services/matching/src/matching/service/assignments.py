"""Many open demands at once: the capacity-respecting assignment that maximises total score.

A proposal for staff (nothing is offered or changed): each open demand of the district gets its
best supplier such that no supplier exceeds its capacity left, or stays open when nothing is
worth more than the penalty; with the fill rate and the certified gap to the optimum over every
supplier (see ``domain/assignment.py``)."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from sqlalchemy import select

from matching.adapters import tables as t
from matching.adapters.repository import _demand_from
from matching.domain.assignment import block_pricing, solve_priced
from matching.domain.demand import OPEN
from matching.domain.index import score_blocks
from matching.service.ranking import IndexHolder
from opc_shared.auth import Principal
from opc_shared.db import UnitOfWork
from opc_shared.scoping import staff_district

PENALTY = 0.2
K = 10
MAX_DEMANDS = 5_000


async def propose(uow: UnitOfWork, *, principal: Principal, district: str | None, holder: IndexHolder, now: datetime) -> dict:
    wanted = staff_district(principal, district, roles=("admin",))
    query = select(t.demands).where(t.demands.c.status == OPEN, t.demands.c.firm_id.is_(None))
    if wanted:
        query = query.where(t.demands.c.district == wanted)
    rows = (await uow.session.execute(query.order_by(t.demands.c.created_at).limit(MAX_DEMANDS))).mappings().all()
    demands = [_demand_from(r) for r in rows]
    index = await holder.fresh(uow.session, now)
    queries = [d.query() for d in demands]
    try:
        # one batch: demands grouped by wanted capabilities, each scored against all its eligible
        # suppliers; every pricing pass is then exact and vectorised
        blocks = score_blocks(index, queries)
    except ValueError:  # too many (demand, supplier) pairs to hold: rank one demand at a time
        blocks = None
    scored = [] if blocks is not None else [index.score(q) for q in queries]

    def pricing(prices: np.ndarray):
        ds, ss, scs, outside = [], [], [], np.full(len(demands), -np.inf)
        for n, sc in enumerate(scored):
            reduced = sc.score - prices[sc.slots]
            if reduced.size > K:
                part = np.argpartition(-reduced, K)
                chosen = part[:K]
                outside[n] = reduced[part[K:]].max()
            else:
                chosen = np.arange(reduced.size)
            ds.append(np.full(chosen.size, n))
            ss.append(sc.slots[chosen])
            scs.append(sc.score[chosen].astype(np.float64))
        if not ds:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), outside
        return np.concatenate(ds), np.concatenate(ss), np.concatenate(scs), outside

    def score_of(n: int, slot: int) -> float | None:
        if blocks is None:
            hit = np.flatnonzero(scored[n].slots == slot)
            return float(scored[n].score[hit[0]]) if hit.size else None
        for block in blocks:
            row = np.flatnonzero(block.demands == n)
            if row.size:
                col = np.searchsorted(block.slots, slot)
                return float(block.score[row[0], col]) if col < block.slots.size and block.slots[col] == slot else None
        return None

    capacity = np.array([index.capacity_left(slot) for slot in range(index.size)], dtype=np.int64)
    if not demands:
        return {"demands": 0, "assigned": 0, "fill_rate": 1.0, "certified_gap": 0.0, "items": []}
    top_k = pricing if blocks is None else block_pricing(blocks, len(demands), K)
    solved = solve_priced(len(demands), capacity, top_k, PENALTY, tolerance=0.005)
    items = []
    for n, demand in enumerate(demands):
        slot = int(solved.assignment.supplier_of[n])
        score = score_of(n, slot) if slot >= 0 else None
        items.append(
            {"demand_id": demand.id, "title": demand.title, "firm_id": index.firm_at(slot) if slot >= 0 else None, "score": score}
        )
    return {
        "demands": len(demands),
        "assigned": solved.assignment.assigned,
        "fill_rate": round(solved.assignment.fill_rate, 4),
        "certified_gap": round(solved.gap, 6),
        "items": items,
    }
