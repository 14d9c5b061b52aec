"""Restatements (``correction_of``) of pool records: the allocation's counters, settlements, the statement and
the meters follow the latest version of every record, as the totals do."""

from __future__ import annotations

import importlib.util
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

from opc_devstack.ledger_flows import gpu, invoice_number
from opc_devstack.pytest_plugin import bearer

FINANCE = bearer("*", ("finance",))
ADMIN = bearer("wuhou", ("admin",))

#: What the counters must be: per allocation, the units of the latest version of every record of the
#: pool and the firm, within quota (``drawn``) or over it (``over_quota``).
_FROM_LATEST = text("""
SELECT a.firm_id, a.drawn, a.over_quota,
       coalesce(sum(u.gpu_seconds) FILTER (WHERE NOT u.over_quota), 0) AS latest_drawn,
       coalesce(sum(u.gpu_seconds) FILTER (WHERE u.over_quota), 0) AS latest_over
FROM ledger.pool_allocations a JOIN ledger.firm_accounts f ON f.firm_id = a.firm_id
LEFT JOIN ledger.usage u ON u.pool_id = a.pool_id AND u.buyer_uscc = f.uscc AND u.superseded_by IS NULL
WHERE a.pool_id = :pool GROUP BY a.firm_id, a.drawn, a.over_quota
""")


class Pool:
    def __init__(self, ledger, vendor, pool: dict, firms: list[dict]) -> None:
        self.ledger, self.vendor, self.id, self.firms = ledger, vendor, pool["id"], firms
        self.url = f"/v1/pools/{pool['id']}"
        self.at = ledger.clock.now() - timedelta(days=1)

    async def usage(self, *records: dict) -> list[dict]:
        return (await self.vendor.usage(list(records)))["records"]

    def record(self, firm: dict, rid: str, seconds: int, *, pooled: bool = True, **extra) -> dict:
        return gpu(firm["uscc"], rid, at=self.at, seconds=seconds, amount=seconds // 3, **extra) | (
            {"pool_id": self.id} if pooled else {}
        )

    async def allocations(self) -> dict[str, tuple[int, int, int]]:
        pool = await self.ledger.ok(await self.ledger.client.get(self.url, headers=ADMIN))
        return {a["firm_id"]: (a["drawn"], a["over_quota"], a["settled_drawn"]) for a in pool["allocations"]}

    async def counters_follow_the_latest_versions(self) -> None:
        async with self.ledger.db.sessionmaker() as session:
            rows = (await session.execute(_FROM_LATEST, {"pool": uuid.UUID(self.id)})).all()
        assert rows and all((r.drawn, r.over_quota) == (r.latest_drawn, r.latest_over) for r in rows), rows

    async def settle(self) -> dict:
        return await self.ledger.ok(await self.ledger.client.post(f"{self.url}/settlements", json={}, headers=ADMIN), 201)


async def _pool(ledger, quotas: tuple[int, ...] = (10_000, 10_000), quantity: int = 36_000, cost_fen: int = 12_000) -> Pool:
    community = await ledger.community(district="wuhou")
    firms = [await ledger.firm(district="wuhou", community_id=uuid.UUID(community["community_id"])) for _ in quotas]
    vendor = await ledger.vendor()
    number = await vendor.pool_invoice(community, cost_fen)
    body = {"community_id": community["community_id"], "vendor_id": vendor.id, "kind": "gpu", "quantity": quantity,
            "price_fen": cost_fen, "invoice_number": number}  # fmt: skip
    pool = await ledger.ok(await ledger.client.post("/v1/pools", json=body, headers=ADMIN), 201)
    for firm, quota in zip(firms, quotas, strict=True):
        url = f"/v1/pools/{pool['id']}/allocations/{firm['firm_id']}"
        await ledger.ok(await ledger.client.put(url, json={"quota": quota}, headers=ADMIN))
    return Pool(ledger, vendor, pool, firms)


async def test_a_restatement_moves_the_counters_by_the_difference(ledger) -> None:
    pool = await _pool(ledger)
    a, b = (f["firm_id"] for f in pool.firms)
    fa, fb = pool.firms
    await pool.usage(pool.record(fa, "a-1", 3600), pool.record(fa, "a-2", 3600), pool.record(fb, "b-1", 9000))
    assert await pool.allocations() == {a: (7200, 0, 0), b: (9000, 0, 0)}

    # down: a-1 drew 3,600, its restatement 1,800
    assert [r["status"] for r in await pool.usage(pool.record(fa, "a-1v2", 1800, correction_of="a-1"))] == ["accepted"]
    assert (await pool.allocations())[a] == (5400, 0, 0)
    # up, still within quota: what a-2 drew is released first, then its restatement draws (1,800 + 6,000 ≤ 10,000)
    await pool.usage(pool.record(fa, "a-2v2", 6000, correction_of="a-2"))
    assert (await pool.allocations())[a] == (7800, 0, 0)
    # up beyond the quota: the whole restatement is over quota (a record is within only if all of it fits)
    [over] = await pool.usage(pool.record(fb, "b-1v2", 12_000, correction_of="b-1"))
    assert "over_quota" in over["flags"] and (await pool.allocations())[b] == (0, 12_000, 0)
    # and back within: the over-quota units are released, the restatement fits
    [within] = await pool.usage(pool.record(fb, "b-1v3", 5000, correction_of="b-1v2"))
    assert "over_quota" not in within["flags"] and (await pool.allocations())[b] == (5000, 0, 0)
    await pool.counters_follow_the_latest_versions()

    # into the pool: a record the firm bought directly is restated as drawn from the pool
    await pool.usage(pool.record(fa, "a-3", 1000, pooled=False))
    assert (await pool.allocations())[a] == (7800, 0, 0)
    await pool.usage(pool.record(fa, "a-3v2", 1000, correction_of="a-3"))
    assert (await pool.allocations())[a] == (8800, 0, 0)
    # out of the pool: a-2's latest version (6,000 within) is restated as bought directly
    await pool.usage(pool.record(fa, "a-2v3", 6000, pooled=False, correction_of="a-2v2"))
    assert (await pool.allocations())[a] == (2800, 0, 0)
    # to another firm of the pool: released from a, drawn by b (5,000 + 1,800 ≤ 10,000)
    await pool.usage(pool.record(fb, "a-1v3", 1800, correction_of="a-1v2"))
    assert await pool.allocations() == {a: (1000, 0, 0), b: (6800, 0, 0)}
    await pool.counters_follow_the_latest_versions()

    # the statement and the meters count the latest versions: what is drawn within quota is the pool's, not uninvoiced
    st = await ledger.ok(await ledger.client.get(f"/v1/firms/{a}/statement", params={"month": "2026-11"}, headers=FINANCE))
    [group] = st["usage"]
    assert (group["records"], group["gpu_seconds"], group["pool_fen"], group["uninvoiced_fen"]) == (2, 7000, 333, 2000)
    meters = await ledger.ok(
        await ledger.client.get(f"/v1/firms/{a}/meters", params={"granularity": "month", "month": "2026-11"}, headers=FINANCE)
    )
    [meter] = meters["items"]
    assert (meter["records"], meter["gpu_seconds"], meter["amount_fen"]) == (2, 7000, 2333)
    assert (meter["pool_fen"], meter["uninvoiced_fen"]) == (333, 2000)


async def test_a_records_restatement_in_the_same_batch_sees_the_quota_it_released(ledger) -> None:
    pool = await _pool(ledger, quotas=(10_000,))
    [fa] = pool.firms
    await pool.usage(pool.record(fa, "s-1", 8000))
    # s-1 is restated to 9,000 and a new record of 1,000 follows in the same batch: 9,000 + 1,000 fits
    answer = await pool.usage(pool.record(fa, "s-1v2", 9000, correction_of="s-1"), pool.record(fa, "s-2", 1000))
    assert ["over_quota" in r["flags"] for r in answer] == [False, False]
    assert await pool.allocations() == {fa["firm_id"]: (10_000, 0, 0)}
    await pool.counters_follow_the_latest_versions()


async def test_a_resent_restatement_is_a_duplicate_and_moves_nothing_again(ledger) -> None:
    pool = await _pool(ledger, quotas=(10_000,))
    [fa] = pool.firms
    await pool.usage(pool.record(fa, "d-1", 4000))
    restated = pool.record(fa, "d-1v2", 1000, correction_of="d-1")
    assert [r["status"] for r in await pool.usage(restated)] == ["accepted"]
    # the vendor's retry of the same record under a new webhook-id
    assert [r["status"] for r in await pool.usage(restated)] == ["duplicate"]
    [conflict] = await pool.usage({**restated, "gpu_seconds": 2000})
    assert conflict["code"] == "conflict"
    assert await pool.allocations() == {fa["firm_id"]: (1000, 0, 0)}


async def test_records_over_quota_before_the_firm_had_an_allocation_count_once_it_has_one(ledger) -> None:
    pool = await _pool(ledger, quotas=(10_000,))
    community_id = (await ledger.ok(await ledger.client.get(pool.url, headers=ADMIN)))["community_id"]
    late = await ledger.firm(district="wuhou", community_id=uuid.UUID(community_id))
    [over] = await pool.usage(pool.record(late, "l-1", 3000))
    assert "over_quota" in over["flags"]  # no allocation yet: billed to the firm directly
    url = f"{pool.url}/allocations/{late['firm_id']}"
    await ledger.ok(await ledger.client.put(url, json={"quota": 5000}, headers=ADMIN))
    assert (await pool.allocations())[late["firm_id"]] == (0, 3000, 0)
    # its restatement releases exactly what the counter holds, and now draws within the quota
    await pool.usage(pool.record(late, "l-1v2", 2000, correction_of="l-1"))
    assert (await pool.allocations())[late["firm_id"]] == (2000, 0, 0)
    await pool.counters_follow_the_latest_versions()


async def test_settled_units_stay_settled_and_the_next_settlement_attributes_only_what_is_new(ledger) -> None:
    # 36,000 GPU-seconds for 12,000 fen: 1 fen per 3 seconds
    pool = await _pool(ledger)
    fa, fb = pool.firms
    a, b = fa["firm_id"], fb["firm_id"]
    await pool.usage(pool.record(fa, "x-1", 6000), pool.record(fb, "y-1", 3000))
    first = await pool.settle()
    assert (first["units"], first["total_fen"]) == (9000, 3000)
    assert await pool.allocations() == {a: (6000, 0, 6000), b: (3000, 0, 3000)}

    # a's record is restated down after it was settled: what was settled stays settled (no negative share);
    # the 4,000 units a was attributed but no longer drew are a credit its later draws use first
    await pool.usage(pool.record(fa, "x-1v2", 2000, correction_of="x-1"), pool.record(fb, "y-1v2", 4500, correction_of="y-1"))
    assert await pool.allocations() == {a: (2000, 0, 6000), b: (4500, 0, 3000)}
    second = await pool.settle()
    assert (second["units"], second["total_fen"]) == (1500, 500)
    assert [(s["firm_id"], s["units"], s["total_fen"]) for s in second["shares"]] == [(b, 1500, 500)]
    assert await pool.allocations() == {a: (2000, 0, 6000), b: (4500, 0, 4500)}

    # a draws again: up to its settled 6,000 it is already paid for; beyond it, attributed
    await pool.usage(pool.record(fa, "x-2", 3000))
    third = await pool.settle()
    assert (third["units"], third["total_fen"]) == (0, 0) and third["shares"] == []
    await pool.usage(pool.record(fa, "x-3", 1500))
    fourth = await pool.settle()
    assert [(s["firm_id"], s["units"], s["total_fen"]) for s in fourth["shares"]] == [(a, 500, 167)]
    # 11,000 settled units: 12,000 × 11,000 / 36,000 = 3,666.67 → 3,667 fen in all, never more than once per unit
    pool_row = await ledger.ok(await ledger.client.get(pool.url, headers=ADMIN))
    assert (pool_row["settled_units"], pool_row["settled_fen"]) == (11_000, 3667)
    assert sum(s["total_fen"] for st in (first, second, third, fourth) for s in st["shares"]) == 3667


async def test_a_red_letter_reversal_of_the_pools_invoice_never_makes_a_settlement_negative(ledger) -> None:
    pool = await _pool(ledger)
    fa, fb = pool.firms
    await pool.usage(pool.record(fa, "r-1", 9000), pool.record(fb, "r-2", 9000))
    first = await pool.settle()
    assert (first["units"], first["total_fen"]) == (18_000, 6000)
    number = (await ledger.ok(await ledger.client.get(pool.url, headers=ADMIN)))["invoice_number"]
    # the community's invoice (11,321 + 679 fen) is partly reversed: the pool now costs 6,000 fen
    partial = {"number": invoice_number(), "reverses": number, "issued_on": "2026-11-20", "reason": "退一部分",
               "lines": [{"line_no": 1, "amount_fen": 5660, "tax_fen": 340}]}  # fmt: skip
    assert (await ledger.ok(await pool.vendor.post("invoice.reversed", partial)))["fully_reversed"] is False
    # 6,000 × 18,000 / 36,000 = 3,000 < the 6,000 settled: what was attributed stays, nothing more (never negative)
    second = await pool.settle()
    assert (second["units"], second["total_fen"], second["tax_fen"], second["shares"]) == (0, 0, 0, [])
    await pool.usage(pool.record(fa, "r-3", 1000))
    third = await pool.settle()
    assert (third["units"], third["total_fen"]) == (1000, 0)
    assert [(s["firm_id"], s["units"], s["total_fen"]) for s in third["shares"]] == [(fa["firm_id"], 1000, 0)]
    pool_row = await ledger.ok(await ledger.client.get(pool.url, headers=ADMIN))
    assert (pool_row["settled_units"], pool_row["settled_fen"], pool_row["invoiced_cost_fen"]) == (19_000, 6000, 6000)
    # fully reversed: no invoice, no settlement (until the community attaches its new invoice)
    rest = {"number": invoice_number(), "reverses": number, "issued_on": "2026-11-21", "reason": "全部冲红",
            "lines": [{"line_no": 1, "amount_fen": 11_321 - 5660, "tax_fen": 679 - 340}]}  # fmt: skip
    assert (await ledger.ok(await pool.vendor.post("invoice.reversed", rest)))["fully_reversed"] is True
    refused = await ledger.client.post(f"{pool.url}/settlements", json={}, headers=ADMIN)
    assert refused.status_code == 409 and refused.json()["code"] == "pool_refused"


async def test_the_recount_migration_sets_stale_counters_to_the_latest_versions(ledger) -> None:
    path = Path(__file__).parents[2] / "src/compute_ledger/migrations/versions/0006_recount_pool_allocations.py"
    spec = importlib.util.spec_from_file_location("recount_0006", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    pool = await _pool(ledger)
    fa, fb = pool.firms
    await pool.usage(pool.record(fa, "m-1", 3000), pool.record(fa, "m-2", 4000), pool.record(fb, "m-3", 12_000))
    await pool.usage(pool.record(fa, "m-1v2", 1000, correction_of="m-1"))
    async with ledger.db.sessionmaker() as session:  # counters as the code before left them
        await session.execute(
            text("UPDATE ledger.pool_allocations SET drawn = 7000, over_quota = 0 WHERE pool_id = :p"), {"p": uuid.UUID(pool.id)}
        )
        await session.execute(text(migration.RECOUNT))
        await session.commit()
    assert await pool.allocations() == {fa["firm_id"]: (5000, 0, 0), fb["firm_id"]: (0, 12_000, 0)}
    await pool.counters_follow_the_latest_versions()
