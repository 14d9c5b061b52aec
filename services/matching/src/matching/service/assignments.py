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
from matching.domain.assignment import solve_priced
from matching.domain.demand import OPEN
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
    scored = [index.score(d.query()) for d in demands]

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

    capacity = np.array([index.capacity_left(slot) for slot in range(index.size)], dtype=np.int64)
    if not demands:
        return {"demands": 0, "assigned": 0, "fill_rate": 1.0, "certified_gap": 0.0, "items": []}
    solved = solve_priced(len(demands), capacity, pricing, PENALTY, tolerance=0.005)
    items = []
    for n, demand in enumerate(demands):
        slot = int(solved.assignment.supplier_of[n])
        score = next((float(s) for s, sl in zip(scored[n].score, scored[n].slots, strict=True) if sl == slot), None)
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
