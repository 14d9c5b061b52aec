"""Community pools (allocation, draw-down, over quota, exact settlement) and period close (snapshot, late records, as-of)."""

from __future__ import annotations

import importlib.util
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from opc_devstack.ledger_flows import gpu, invoice, invoice_line, invoice_number
from opc_devstack.pytest_plugin import bearer
from opc_shared.contracts.ledger import PeriodClosedV1, PoolSettlementAttributedV1

FINANCE = bearer("*", ("finance",))
ADMIN = bearer("wuhou", ("admin",))


async def _events(ledger, event_type: str) -> list[dict]:
    async with ledger.db.sessionmaker() as session:
        rows = await session.execute(
            text("SELECT payload FROM ledger.outbox WHERE event_type = :t ORDER BY id"), {"t": event_type}
        )
        return [r[0]["data"] for r in rows]


async def test_pool_allocation_draw_down_over_quota_and_exact_settlement(ledger) -> None:
    community = await ledger.community(district="wuhou")
    a, b, c = [await ledger.firm(district="wuhou", community_id=uuid.UUID(community["community_id"])) for _ in range(3)]
    vendor = await ledger.vendor()
    number = await vendor.pool_invoice(community, 12000)
    body = {"community_id": community["community_id"], "vendor_id": vendor.id, "kind": "gpu", "quantity": 36000,
            "price_fen": 12000, "invoice_number": number}  # fmt: skip
    other_district = await ledger.client.post("/v1/pools", json=body, headers=bearer("gaoxin", ("admin",)))
    assert other_district.status_code == 403
    pool = await ledger.ok(await ledger.client.post("/v1/pools", json=body, headers=ADMIN), 201)
    assert pool["invoiced_cost_fen"] == 12000
    url = f"/v1/pools/{pool['id']}"
    for firm in (a, b, c):
        await ledger.ok(await ledger.client.put(f"{url}/allocations/{firm['firm_id']}", json={"quota": 10000}, headers=ADMIN))
    too_much = await ledger.client.put(f"{url}/allocations/{a['firm_id']}", json={"quota": 17000}, headers=ADMIN)
    assert too_much.status_code == 409 and too_much.json()["code"] == "pool_refused"
    outsider = await ledger.firm(district="wuhou")
    assert (
        await ledger.client.put(f"{url}/allocations/{outsider['firm_id']}", json={"quota": 1}, headers=ADMIN)
    ).status_code == 409
    moved = {"from_firm_id": c["firm_id"], "to_firm_id": a["firm_id"], "units": 2000}
    pool = await ledger.ok(await ledger.client.post(f"{url}/transfers", json=moved, headers=ADMIN))
    assert {x["firm_id"]: x["quota"] for x in pool["allocations"]} == {
        a["firm_id"]: 12000,
        b["firm_id"]: 10000,
        c["firm_id"]: 8000,
    }

    at = ledger.clock.now() - timedelta(days=1)
    answer = await vendor.usage(
        [
            gpu(a["uscc"], at=at, seconds=3600, amount=1200, pool_id=pool["id"]),
            gpu(a["uscc"], at=at, seconds=3600, amount=1200, pool_id=pool["id"]),
            gpu(b["uscc"], at=at, seconds=3600, amount=1200, pool_id=pool["id"]),
            gpu(c["uscc"], "c-big", at=at, seconds=9000, amount=3000, pool_id=pool["id"]),  # 9000 > 8000: over quota
            gpu(a["uscc"], at=at, pool_id=str(uuid.uuid4())),
        ]
    )
    assert [r["status"] for r in answer["records"]] == ["accepted"] * 4 + ["rejected"]
    assert "over_quota" in answer["records"][3]["flags"] and answer["records"][4]["code"] == "unknown_pool"
    pool = await ledger.ok(await ledger.client.get(url, headers=ADMIN))
    drawn = {x["firm_id"]: (x["drawn"], x["over_quota"]) for x in pool["allocations"]}
    assert drawn == {a["firm_id"]: (7200, 0), b["firm_id"]: (3600, 0), c["firm_id"]: (0, 9000)}

    settled = await ledger.ok(await ledger.client.post(f"{url}/settlements", json={"period": "2026-11"}, headers=ADMIN), 201)
    # 10,800 of 36,000 GPU-seconds drawn: 12,000 × 0.3 = 3,600 fen, split 2:1
    assert (settled["units"], settled["total_fen"]) == (10800, 3600)
    shares = {s["firm_id"]: s["total_fen"] for s in settled["shares"]}
    assert shares == {a["firm_id"]: 2400, b["firm_id"]: 1200}
    events = [PoolSettlementAttributedV1.model_validate(e) for e in await _events(ledger, PoolSettlementAttributedV1.event_type)]
    mine = [e for e in events if str(e.settlement_id) == settled["settlement_id"]]
    assert sorted(e.total_fen for e in mine) == [1200, 2400] and all(e.invoice_number == number for e in mine)
    assert sum(e.amount_fen + e.tax_fen for e in mine) == 3600
    st = await ledger.ok(
        await ledger.client.get(f"/v1/firms/{a['firm_id']}/statement", params={"month": "2026-11"}, headers=FINANCE)
    )
    assert st["compute_invoiced_fen"] == 2400 and st["pool_attributed_fen"]["compute"] == 2400
    evidence = await ledger.ok(
        await ledger.client.get(
            f"/v1/pools/settlements/{settled['settlement_id']}/firms/{a['firm_id']}",
            headers=bearer("wuhou", ("firm",), firm_id=a["firm_id"]),
        )
    )
    assert evidence["total_fen"] == 2400 and evidence["settlement_total_fen"] == 3600
    # a second settlement attributes only what was drawn since
    await vendor.usage([gpu(b["uscc"], at=at, seconds=1, amount=1, pool_id=pool["id"])])
    again = await ledger.ok(await ledger.client.post(f"{url}/settlements", json={}, headers=ADMIN), 201)
    assert again["units"] == 1 and again["total_fen"] == 0  # 12,000 × 10,801 / 36,000 = 3,600.33 → 3,600: nothing more yet
    # over-quota usage is billed to the firm directly
    over_invoice = invoice(
        invoice_number(), seller=vendor.uscc, buyer=c["uscc"], issued_on="2026-11-20",
        lines=[invoice_line(1, "compute", [{"id": "c-big", "amount_fen": 3000}])],
    )  # fmt: skip
    assert (await ledger.ok(await vendor.post("invoice.issued", over_invoice)))["status"] == "recorded"


async def test_settlement_refused_without_invoice(ledger) -> None:
    community = await ledger.community(district="wuhou")
    vendor = await ledger.vendor()
    body = {
        "community_id": community["community_id"],
        "vendor_id": vendor.id,
        "kind": "tokens",
        "quantity": 10**9,
        "price_fen": 5,
    }
    pool = await ledger.ok(await ledger.client.post("/v1/pools", json=body, headers=ADMIN), 201)
    got = await ledger.client.post(f"/v1/pools/{pool['id']}/settlements", json={}, headers=ADMIN)
    assert got.status_code == 409 and got.json()["code"] == "pool_refused"


async def test_period_close_snapshot_late_records_and_as_of(ledger) -> None:
    city = f"city{uuid.uuid4().hex[:8]}"
    community = await ledger.community(district="wuhou", city=city)
    firm = await ledger.firm(district="wuhou", community_id=uuid.UUID(community["community_id"]))
    vendor = await ledger.vendor()
    october = datetime(2026, 10, 15, 4, 0, tzinfo=UTC)
    ledger.clock.now = lambda: datetime(2026, 10, 25, 2, 0, tzinfo=UTC)
    record = gpu(firm["uscc"], at=october, amount=1000)
    await vendor.usage([record])
    oct_invoice = invoice(
        invoice_number(),
        seller=vendor.uscc,
        buyer=firm["uscc"],
        issued_on="2026-10-20",
        lines=[invoice_line(1, "compute", [record])],
    )
    assert (await ledger.ok(await vendor.post("invoice.issued", oct_invoice)))["status"] == "recorded"

    ledger.clock.now = lambda: datetime(2026, 11, 3, 2, 0, tzinfo=UTC)  # within the 5-day grace
    early = await ledger.client.post(f"/v1/periods/{city}/2026-10/close", headers=FINANCE)
    assert early.status_code == 409 and early.json()["code"] == "period_refused"
    assert "2026年11月" in early.json()["detail"] and "T" not in early.json()["detail"].split("关账")[0]  # local words
    assert (await ledger.client.post(f"/v1/periods/{city}/2026-11/close", headers=FINANCE)).status_code == 409
    closing = datetime(2026, 11, 6, 2, 0, tzinfo=UTC)
    ledger.clock.now = lambda: closing
    closed = await ledger.ok(await ledger.client.post(f"/v1/periods/{city}/2026-10/close", headers=FINANCE), 201)
    assert (closed["firms"], closed["invoiced_fen"], closed["uninvoiced_fen"]) == (1, 1000, 0)
    [event] = [e for e in await _events(ledger, PeriodClosedV1.event_type) if e["city"] == city]
    assert PeriodClosedV1.model_validate(event).invoiced_fen == 1000
    assert (await ledger.client.post(f"/v1/periods/{city}/2026-10/close", headers=FINANCE)).status_code == 409

    ledger.clock.now = lambda: closing + timedelta(days=1)
    late = gpu(firm["uscc"], at=october + timedelta(days=5), amount=700)
    assert (await vendor.usage([late]))["accepted"] == 1

    async def statement(month: str, **params) -> dict:
        got = await ledger.client.get(
            f"/v1/firms/{firm['firm_id']}/statement", params={"month": month, **params}, headers=FINANCE
        )
        return await ledger.ok(got)

    oct_st = await statement("2026-10")
    assert sum(u["amount_fen"] for u in oct_st["usage"]) == 1000  # the closed month is not rewritten
    assert oct_st["closed"] and oct_st["snapshot"]["categories"][0]["amount_fen"] == 1000
    assert oct_st["compute_invoiced_fen"] == 1000
    nov_st = await statement("2026-11")
    assert nov_st["late_records"] == [{"concerns_period": "2026-10", "records": 1, "amount_fen": 700}]
    assert sum(u["amount_fen"] for u in nov_st["usage"]) == 700
    before_close = await statement("2026-10", as_of=(closing - timedelta(hours=1)).isoformat())
    assert before_close["closed"] is False and before_close["snapshot"] is None
    before_late = await statement("2026-11", as_of=closing.isoformat())
    assert before_late["late_records"] == [] and before_late["usage"] == []


async def test_the_late_flag_migration_flags_rows_booked_outside_their_own_month(ledger) -> None:
    """Rows as the code before 0007 left them (``late`` false everywhere): the backfill flags exactly the
    ones booked in another month than their own, so the statements find them through the late index."""
    path = Path(__file__).parents[2] / "src/compute_ledger/migrations/versions/0007_late_usage_index.py"
    spec = importlib.util.spec_from_file_location("late_0007", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    firm = await ledger.firm(district="wuhou")
    vendor = await ledger.vendor()
    own, moved = gpu(firm["uscc"], at=ledger.clock.now() - timedelta(days=2)), gpu(firm["uscc"], at=ledger.clock.now())
    assert (await vendor.usage([own, moved]))["accepted"] == 2
    async with ledger.db.sessionmaker() as session:
        await session.execute(text("UPDATE ledger.usage SET booked_period = '2999-01' WHERE record_id = :r"), {"r": moved["id"]})
        await session.execute(
            text("UPDATE ledger.usage SET late = false WHERE record_id IN (:a, :b)"), {"a": own["id"], "b": moved["id"]}
        )
        await session.execute(text(migration.BACKFILL))
        await session.commit()
        flags = dict((await session.execute(
            text("SELECT record_id, late FROM ledger.usage WHERE record_id IN (:a, :b)"), {"a": own["id"], "b": moved["id"]}
        )).all())  # fmt: skip
    assert flags == {own["id"]: False, moved["id"]: True}
