"""The periodic job: monthly pool settlement and period close once the grace period has passed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import text

from compute_ledger import jobs
from opc_devstack.ledger_flows import gpu, invoice, invoice_line, invoice_number
from opc_devstack.pytest_plugin import bearer
from opc_shared.clock import FixedClock

ADMIN = bearer("wuhou", ("admin",))


async def test_month_end_settles_pools_and_closes_after_grace(ledger) -> None:
    ledger.clock.now = lambda: datetime(2030, 1, 20, 2, 0, tzinfo=UTC)
    city = f"city{uuid.uuid4().hex[:8]}"
    community = await ledger.community(district="wuhou", city=city)
    firm = await ledger.firm(district="wuhou", community_id=uuid.UUID(community["community_id"]))
    vendor = await ledger.vendor()
    number = invoice_number()
    line = {**invoice_line(1, "compute", [{"id": "-", "amount_fen": 1000}]), "record_ids": []}
    bought = invoice(number, seller=vendor.uscc, buyer=community["operator_uscc"], issued_on="2030-01-02", lines=[line])
    await ledger.ok(await vendor.post("invoice.issued", bought))
    body = {"community_id": community["community_id"], "vendor_id": vendor.id, "kind": "gpu", "quantity": 3600,
            "price_fen": 1000, "invoice_number": number}  # fmt: skip
    pool = await ledger.ok(await ledger.client.post("/v1/pools", json=body, headers=ADMIN), 201)
    await ledger.ok(
        await ledger.client.put(f"/v1/pools/{pool['id']}/allocations/{firm['firm_id']}", json={"quota": 3600}, headers=ADMIN)
    )
    await vendor.usage([gpu(firm["uscc"], at=datetime(2030, 1, 10, tzinfo=UTC), seconds=1800, amount=500, pool_id=pool["id"])])

    first = await jobs.run_once(ledger.db, FixedClock(datetime(2030, 2, 3, 2, 0, tzinfo=UTC)))  # settled, not yet closable
    assert first["settled"] >= 1
    again = await jobs.run_once(ledger.db, FixedClock(datetime(2030, 2, 7, 2, 0, tzinfo=UTC)))
    assert again["closed"] >= 1
    async with ledger.db.sessionmaker() as session:
        settlements = (
            await session.execute(
                text("SELECT period, total_fen FROM ledger.pool_settlements WHERE pool_id = CAST(:p AS uuid)"), {"p": pool["id"]}
            )
        ).all()
        closed = (
            await session.execute(text("SELECT count(*) FROM ledger.periods WHERE city = :c AND period = '2030-01'"), {"c": city})
        ).scalar_one()
    assert [(s.period, s.total_fen) for s in settlements] == [("2030-01", 500)]  # settled once, though the job ran twice
    assert closed == 1
