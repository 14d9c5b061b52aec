"""The assignment proposal from each demand's shortlist (``top_candidates``), with no round that
scores every demand against every supplier, gives each demand the top candidate its own ranking
gives when capacity is ample."""

from __future__ import annotations

import asyncio
import random
import threading
import uuid

import pytest
from sqlalchemy import insert

from matching.adapters import tables as t
from matching.domain.demand import OPEN
from matching.service import assignments
from matching.service.ranking import IndexHolder, holder_of
from matching.synthetic import demand, supplier

SUPPLIERS, DEMANDS = 1_500, 120


async def _seed(desk) -> list[uuid.UUID]:
    """Synthetic suppliers (each able to take every demand) and open wuhou demands, as rows."""
    rng = random.Random(31)
    now = desk.clock.now()
    profiles, demands = [], []
    for i in range(SUPPLIERS):
        f = supplier(rng, i)
        profiles.append(
            {
                "firm_id": f.firm_id,
                "firm_name": f.firm_name,
                "district": f.district,
                "status": "active",
                "registered_at": now,
                "capabilities": list(f.capabilities),
                "description": f.description,
                "capacity": DEMANDS,
                "price_min_fen": f.price_min_fen,
                "price_max_fen": f.price_max_fen,
                "rating_sum": f.rating_sum,
                "rating_count": f.rating_count,
            }
        )
    for i in range(DEMANDS):
        q = demand(rng)
        demands.append(
            {
                "id": uuid.uuid4(),
                "owner_sub": "owner-wuhou",
                "owner_name": "武侯文旅集团",
                "district": "wuhou",
                "title": f"需求{i}",
                "description": q.text,
                "sector": "culture",
                "capabilities": q.capabilities,
                "budget_max_fen": q.budget_max_fen,
                "location_district": q.district,
                "status": OPEN,
                "created_at": now,
                "published_at": now,
            }
        )
    async with desk.client.app.state.db.engine.begin() as conn:
        await conn.execute(insert(t.supplier_profiles), profiles)
        await conn.execute(insert(t.demands), demands)
    return [d["id"] for d in demands]


async def test_demands_get_their_own_top_candidates_from_the_shortlists(desk, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = await _seed(desk)
    shortlisted: list[int] = []
    top_candidates = assignments.top_candidates

    def spy(index, queries, m):
        shortlisted.append(len(queries))
        return top_candidates(index, queries, m)

    exact_rounds: list[int] = []  # rounds over every eligible supplier: none needed here
    exact_pricing = assignments._exact_pricing

    def counted(index, queries):
        top_k = exact_pricing(index, queries)
        return lambda prices: exact_rounds.append(len(queries)) or top_k(prices)

    monkeypatch.setattr(assignments, "top_candidates", spy)
    monkeypatch.setattr(assignments, "_exact_pricing", counted)
    holder_of(desk.client.app.state).exposure_max_age_s = 3600  # candidates below record exposures
    got = await desk.ok(await desk.client.post("/v1/assignments/proposal", headers=desk.admin))
    assert shortlisted == [DEMANDS] and exact_rounds == []
    assert got["demands"] == DEMANDS and got["assigned"] == DEMANDS and got["certified_gap"] <= 0.005
    proposed = {item["demand_id"]: item for item in got["items"]}
    assert set(proposed) == {str(i) for i in ids}
    for demand_id in ids:
        got_ranked = await desk.client.get(f"/v1/demands/{demand_id}/candidates?limit=2", headers=desk.staff)
        ranked = (await desk.ok(got_ranked))["items"]
        item = proposed[str(demand_id)]
        assert item["score"] == pytest.approx(ranked[0]["score"], abs=1e-4)
        if ranked[1]["score"] < ranked[0]["score"]:
            assert item["firm_id"] == ranked[0]["firm_id"]


async def _set_within(event: threading.Event, seconds: float) -> bool:
    """Whether a worker thread sets ``event`` within ``seconds``, the event loop free meanwhile."""
    for _ in range(int(seconds / 0.01)):
        if event.is_set():
            return True
        await asyncio.sleep(0.01)
    return event.is_set()


async def test_the_solve_runs_off_the_event_loop_and_no_refresh_changes_its_index_meanwhile(
    desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proposal's seconds of solving run on a worker thread: the process answers other requests
    meanwhile (a health probe here), and a ranking, whose refresh would change the index the solve
    reads, waits until the proposal is done with it."""
    ids = await _seed(desk)
    holder_of(desk.client.app.state).exposure_max_age_s = 3600
    started, release = threading.Event(), threading.Event()
    solve, solving_threads = assignments.solve, []

    def held(index, queries, capacity):
        solving_threads.append(threading.get_ident())
        started.set()
        assert release.wait(10), "the solve was never released: the event loop was blocked"
        return solve(index, queries, capacity)

    monkeypatch.setattr(assignments, "solve", held)
    proposal = asyncio.create_task(desk.client.post("/v1/assignments/proposal", headers=desk.admin))
    assert await _set_within(started, 10.0)
    assert (await desk.client.get("/healthz")).status_code == 200  # answered while the solve is held
    ranking = asyncio.create_task(desk.client.get(f"/v1/demands/{ids[0]}/candidates?limit=2", headers=desk.staff))
    await asyncio.sleep(0.3)
    assert not ranking.done()  # its refresh waits for the proposal's index
    release.set()
    got = await desk.ok(await proposal)
    assert got["demands"] == DEMANDS and got["assigned"] == DEMANDS
    assert len((await desk.ok(await ranking))["items"]) == 2
    assert solving_threads == [solving_threads[0]] and solving_threads[0] != threading.get_ident()


async def test_a_replicas_first_load_of_the_index_runs_off_the_event_loop(desk, monkeypatch: pytest.MonkeyPatch) -> None:
    """After a start, the first ranking loads every profile into the index (seconds at 100,000): on a
    worker thread, so a health probe is answered meanwhile; the ranking waits for the load."""
    ids = await _seed(desk)  # 1,500 profiles: above the holder's off-loop threshold
    holder = holder_of(desk.client.app.state)
    assert holder.first_load_off_loop < SUPPLIERS
    started, release, threads = threading.Event(), threading.Event(), []
    apply = IndexHolder._apply

    def held(self, rows):
        threads.append(threading.get_ident())
        started.set()
        assert release.wait(10), "the load was never released: the event loop was blocked"
        return apply(self, rows)

    monkeypatch.setattr(IndexHolder, "_apply", held)
    ranking = asyncio.create_task(desk.client.get(f"/v1/demands/{ids[0]}/candidates?limit=2", headers=desk.staff))
    assert await _set_within(started, 10.0)
    assert (await desk.client.get("/healthz")).status_code == 200  # answered while the load is held
    assert not ranking.done()
    release.set()
    assert len((await desk.ok(await ranking))["items"]) == 2
    assert threads[0] != threading.get_ident() and len(holder.index) == SUPPLIERS
