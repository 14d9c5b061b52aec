"""Signed vendor webhooks against the real database: signatures, replays, rotation, suspension, per-record outcomes."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import text

from opc_devstack.ledger_flows import gpu, new_uscc, tokens
from opc_devstack.pytest_plugin import bearer

ADMIN = bearer("*", ("admin",))


async def _count(ledger, sql: str, **params) -> int:
    async with ledger.db.sessionmaker() as session:
        return (await session.execute(text(sql), params)).scalar_one()


async def test_signature_failures_change_nothing(ledger) -> None:
    vendor = await ledger.vendor()
    other = await ledger.vendor()
    record = gpu(new_uscc(), at=ledger.clock.now() - timedelta(hours=2))
    body, headers = vendor.signed("usage.reported", {"records": [record]})
    url = f"/v1/webhooks/vendors/{vendor.id}"
    unsigned = {k: v for k, v in headers.items() if k != "webhook-signature"}
    tampered = body.replace(b'"amount_fen": 1200', b'"amount_fen": 9999')
    wrong = vendor.signed("usage.reported", {"records": [record]}, secret=other.secret)
    stale = vendor.signed("usage.reported", {"records": [record]}, at=ledger.clock.now() - timedelta(minutes=6))
    future = vendor.signed("usage.reported", {"records": [record]}, at=ledger.clock.now() + timedelta(minutes=6))
    for content, hdrs in ((body, unsigned), (tampered, headers), wrong, stale, future):
        got = await ledger.client.post(url, content=content, headers=hdrs)
        assert got.status_code == 401 and got.json()["code"] == "webhook_signature_invalid", got.text
        assert vendor.secret not in got.text
    assert await _count(ledger, "SELECT count(*) FROM ledger.usage WHERE record_id = :r", r=record["id"]) == 0
    first = await ledger.client.post(url, content=body, headers=headers)
    assert first.status_code == 200 and first.json()["accepted"] == 1
    replay = await ledger.client.post(url, content=body, headers=headers)
    assert replay.status_code == 409 and replay.json()["code"] == "webhook_replayed"
    # the same records under a new webhook-id are answered, record by record, as duplicates
    again = await vendor.usage([record])
    assert again["records"] == [{"id": record["id"], "status": "duplicate"}]
    assert await _count(ledger, "SELECT count(*) FROM ledger.usage WHERE record_id = :r", r=record["id"]) == 1


async def test_replayed_id_refused_for_good_not_for_a_window(ledger) -> None:
    vendor = await ledger.vendor()
    record = tokens(new_uscc(), at=ledger.clock.now() - timedelta(hours=1))
    first = await vendor.post("usage.reported", {"records": [record]}, msg_id="msg_fixed_1")
    assert first.status_code == 200
    ledger.clock.advance(timedelta(days=40))
    later = await vendor.post("usage.reported", {"records": [tokens(new_uscc(), at=ledger.clock.now())]}, msg_id="msg_fixed_1")
    assert later.status_code == 409


async def test_rotation_window_then_old_secret_refused(ledger) -> None:
    vendor = await ledger.vendor()
    old = vendor.secret
    rotated = await ledger.ok(
        await ledger.client.post(
            f"/v1/vendors/{vendor.id}/secrets",
            json={"old_secret_expires_at": (ledger.clock.now() + timedelta(hours=2)).isoformat()},
            headers=ADMIN,
        ),
        201,
    )
    new = rotated["webhook_secret"]
    assert new.startswith("whsec_") and new != old
    read = await ledger.ok(await ledger.client.get(f"/v1/vendors/{vendor.id}", headers=ADMIN))
    assert old not in str(read) and new not in str(read) and len(read["secrets"]) == 2
    buyer = new_uscc()
    at = ledger.clock.now() - timedelta(hours=1)
    for secret in (old, new):
        got = await vendor.post("usage.reported", {"records": [gpu(buyer, at=at)]}, secret=secret)
        assert got.status_code == 200, got.text
    ledger.clock.advance(timedelta(hours=2, seconds=1))
    assert (await vendor.post("usage.reported", {"records": [gpu(buyer, at=at)]}, secret=old)).status_code == 401
    assert (await vendor.post("usage.reported", {"records": [gpu(buyer, at=at)]}, secret=new)).status_code == 200


async def test_suspended_vendor_refused_and_resumed(ledger) -> None:
    vendor = await ledger.vendor()
    await ledger.ok(await ledger.client.post(f"/v1/vendors/{vendor.id}/suspend", headers=ADMIN))
    got = await vendor.post("usage.reported", {"records": [gpu(new_uscc(), at=ledger.clock.now())]})
    assert got.status_code == 403 and got.json()["code"] == "vendor_suspended"
    await ledger.ok(await ledger.client.post(f"/v1/vendors/{vendor.id}/resume", headers=ADMIN))
    assert (await vendor.post("usage.reported", {"records": [gpu(new_uscc(), at=ledger.clock.now())]})).status_code == 200


async def test_per_record_outcomes_in_one_batch(ledger) -> None:
    vendor = await ledger.vendor()
    buyer = new_uscc()
    at = ledger.clock.now() - timedelta(hours=3)
    kept = gpu(buyer, "rec-1", at=at)
    await vendor.usage([kept])
    bad_uscc = gpu(buyer[:-1] + ("0" if buyer[-1] != "0" else "1"), "rec-3", at=at)
    no_seconds = gpu(buyer, "rec-4", at=at)
    del no_seconds["gpu_seconds"]
    answer = await vendor.usage(
        [
            gpu(buyer, "rec-2", at=at),  # accepted
            kept,  # duplicate
            {**kept, "amount_fen": 1},  # conflict
            bad_uscc,
            no_seconds,
            {**gpu(buyer, "rec-5", at=at), "amount_fen": 12.5},
            gpu(buyer, "rec-2", at=at),  # the same record twice in one batch
        ]
    )
    statuses = [(r["id"], r["status"], r.get("code"), r.get("field")) for r in answer["records"]]
    assert statuses == [
        ("rec-2", "accepted", None, None),
        ("rec-1", "duplicate", None, None),
        ("rec-1", "rejected", "conflict", "records[2].id"),
        ("rec-3", "rejected", "invalid", "records[3].buyer_uscc"),
        ("rec-4", "rejected", "invalid", "records[4]"),
        ("rec-5", "rejected", "invalid", "records[5].amount_fen"),
        ("rec-2", "duplicate", None, None),
    ]
    assert (answer["accepted"], answer["duplicate"], answer["rejected"]) == (1, 2, 4)
    stored = await _count(
        ledger,
        "SELECT sum(amount_fen) FROM ledger.usage WHERE vendor_id = CAST(:v AS uuid) AND buyer_uscc = :b",
        v=vendor.id,
        b=buyer,
    )
    assert stored == 2400  # rec-1 kept its first body; nothing was overwritten


async def test_batch_shape_errors_write_nothing(ledger) -> None:
    vendor = await ledger.vendor()
    got = await vendor.post("usage.reported", {"records": []})
    assert got.status_code == 422 and got.json()["errors"][0]["field"] == "data.records"
    got = await vendor.post("usage.exploded", {"records": []})
    assert got.status_code == 422 and got.json()["errors"][0]["field"] == "type"


async def test_correction_restates_and_history_keeps_both(ledger) -> None:
    vendor = await ledger.vendor()
    buyer = new_uscc()
    at = ledger.clock.now() - timedelta(hours=5)
    await vendor.usage([gpu(buyer, "c-1", at=at, amount=1000)])
    answer = await vendor.usage(
        [gpu(buyer, "c-2", at=at, amount=900, correction_of="c-1"), gpu(buyer, "c-3", at=at, correction_of="nope")]
    )
    assert [r["status"] for r in answer["records"]] == ["accepted", "rejected"]
    assert answer["records"][1]["code"] == "unknown_record" and answer["records"][1]["field"] == "records[1].correction_of"
    again = await vendor.usage([gpu(buyer, "c-4", at=at, amount=800, correction_of="c-1")])
    assert again["records"][0]["code"] == "already_corrected"
    rows = await _count(ledger, "SELECT count(*) FROM ledger.usage WHERE buyer_uscc = :b", b=buyer)
    latest = await _count(
        ledger, "SELECT sum(amount_fen) FROM ledger.usage WHERE buyer_uscc = :b AND superseded_by IS NULL", b=buyer
    )
    assert (rows, latest) == (2, 900)


async def test_unattributed_records_attributed_on_firm_registered(ledger) -> None:
    vendor = await ledger.vendor()
    buyer = new_uscc()
    await vendor.usage([gpu(buyer, at=ledger.clock.now() - timedelta(hours=1)) for _ in range(3)])
    waiting = await ledger.ok(await ledger.client.get("/v1/ops/unattributed", headers=ADMIN))
    assert any(i["buyer_uscc"] == buyer and i["records"] == 3 for i in waiting["items"])
    firm = await ledger.firm(uscc=buyer)
    assert await _count(ledger, "SELECT count(*) FROM ledger.usage WHERE buyer_uscc = :b AND firm_id IS NULL", b=buyer) == 0
    owned = await _count(ledger, "SELECT count(*) FROM ledger.usage WHERE firm_id = CAST(:f AS uuid)", f=firm["firm_id"])
    assert owned == 3
    # records arriving after registration are attributed at once
    await vendor.usage([gpu(buyer, at=ledger.clock.now() - timedelta(minutes=5))])
    assert await _count(ledger, "SELECT count(*) FROM ledger.usage WHERE firm_id = CAST(:f AS uuid)", f=firm["firm_id"]) == 4


async def test_rating_flags_discrepancies_never_changes_amounts(ledger) -> None:
    vendor = await ledger.vendor()
    await vendor.price(kind="gpu", resource="A800", effective_from="2026-01-01T00:00:00+08:00", fen_per_gpu_hour="1200")
    await vendor.price(kind="gpu", resource="A800", effective_from="2026-11-01T00:00:00+08:00", fen_per_gpu_hour="1000.5")
    await vendor.price(
        kind="tokens",
        resource="qwen-max",
        effective_from="2026-01-01T00:00:00+08:00",
        fen_per_m_input="240",
        fen_per_m_cached_input="60",
        fen_per_m_output="960",
    )
    buyer = new_uscc()
    october = ledger.clock.now().replace(month=10, day=10)
    answer = await vendor.usage(
        [
            gpu(buyer, "p-1", at=october, seconds=1800, amount=600),  # 1200/h × 0.5 h = 600: agrees
            gpu(
                buyer, "p-2", at=ledger.clock.now() - timedelta(hours=9), seconds=5400, amount=1501
            ),  # 1000.5 × 1.5 = 1500.75 → 1501
            gpu(
                buyer, "p-3", at=ledger.clock.now() - timedelta(hours=9), seconds=3600, amount=1200
            ),  # new price 1000.5 → 1001: over
            tokens(buyer, "p-4", at=october, inp=1_000_000, out=500_000, amount=720),  # 240 + 480 = 720
            {**gpu(buyer, "p-5", at=october), "gpu_model": "H20"},  # no price for it
        ]
    )
    flags = {r["id"]: r.get("flags", []) for r in answer["records"]}
    assert flags == {"p-1": [], "p-2": [], "p-3": ["price_over"], "p-4": [], "p-5": ["price_unpriced"]}
    listed = await ledger.ok(await ledger.client.get("/v1/ops/discrepancies", params={"vendor_id": vendor.id}, headers=ADMIN))
    by_id = {i["record_id"]: i for i in listed["items"]}
    assert set(by_id) == {"p-3", "p-5"} and by_id["p-3"]["amount_fen"] == 1200 and by_id["p-3"]["rated_fen"] == 1001


async def test_a_batch_with_a_correction_and_a_record_of_a_new_month_is_stored(ledger) -> None:
    """The batch's months get their partitions before it locks the versions it restates (the partition's
    DDL waits for every lock on ``ledger.usage``, the batch's own included)."""
    vendor = await ledger.vendor()
    buyer = new_uscc()
    at = ledger.clock.now() - timedelta(hours=3)
    await vendor.usage([gpu(buyer, "n-1", at=at, amount=1000)])
    new_month = at.replace(year=2021, month=3, day=1)  # no record of this month has arrived before
    batch = [gpu(buyer, "n-2", at=at, amount=900, correction_of="n-1"), gpu(buyer, "n-3", at=new_month)]
    answer = await asyncio.wait_for(vendor.usage(batch), 30)
    assert [r["status"] for r in answer["records"]] == ["accepted", "accepted"]


async def test_a_usual_batch_is_two_round_trips_and_rates_with_the_newest_prices(ledger) -> None:
    """The vendor (with its secrets and how many price versions it has) in one statement, the batch in
    another, both without BEGIN/COMMIT (the ingest statement is atomic by itself); the price book is
    read again only when the vendor has another price version than the one the process holds."""
    from sqlalchemy import event

    vendor = await ledger.vendor()
    await vendor.price(kind="gpu", resource="A800", effective_from="2026-01-01T00:00:00+08:00", fen_per_gpu_hour="1200")
    buyer = new_uscc()
    at = ledger.clock.now() - timedelta(hours=3)
    statements: list[tuple[str, str | None]] = []  # (statement, isolation level of its connection)
    engine = ledger.db.engine.sync_engine

    def listener(conn, cursor, statement, *args) -> None:
        statements.append((statement, conn.get_execution_options().get("isolation_level")))

    event.listen(engine, "before_cursor_execute", listener)
    try:
        first = await vendor.usage([gpu(buyer, at=at, seconds=3600, amount=1200)])
        assert first["accepted"] == 1 and "flags" not in first["records"][0]
        statements.clear()
        second = await vendor.usage([gpu(buyer, at=at, seconds=3600, amount=1200), gpu(buyer, at=at, seconds=1800, amount=600)])
        assert second["accepted"] == 2
        assert [level for _, level in statements] == ["AUTOCOMMIT", "AUTOCOMMIT"], statements
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    # a new price version is used by the next batch (the process's copy is not stale)
    await vendor.price(kind="gpu", resource="A800", effective_from="2026-11-01T00:00:00+08:00", fen_per_gpu_hour="1000")
    third = await vendor.usage([gpu(buyer, at=at, seconds=3600, amount=1200)])
    assert third["records"][0].get("flags") == ["price_over"], third
