"""Payment batches: bank file, bank return, and a reversal after payment netted in the next batch."""

from __future__ import annotations

import csv
import io
from datetime import date

from sqlalchemy import select

from opc_devstack.pytest_plugin import bearer

from .conftest import cat
from .test_entitlements import entitlements


async def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, f"{response.request.url}: {response.status_code} {response.text}"
    return response.json()


async def pay_everything(client, finance: dict) -> tuple[dict, list[dict]]:
    batch = await ok(await client.post("/v1/payment-batches", json={"scope": client.district}, headers=finance), 201)
    text = (await client.get(f"/v1/payment-batches/{batch['id']}/bank-file", headers=finance)).text
    rows = list(csv.DictReader(io.StringIO(text)))
    answer = "reference,status,bank_reference\n" + "".join(f"{r['reference']},paid,BK{i}\n" for i, r in enumerate(rows))
    settled = await ok(
        await client.post(f"/v1/payment-batches/{batch['id']}/bank-return", json={"file": answer}, headers=finance)
    )
    return settled, rows


async def test_reversal_after_payment_is_netted_in_the_next_batch(subsidy) -> None:
    """10,000 yuan compute → 6,000 paid. Red-letter 5,000 → 3,000 owed: 3,000 to recover.
    Another 20,000 yuan → base 25,000, 15,000 owed: 12,000 more, less the 3,000 recovered → 9,000 transferred.
    6,000 + 9,000 = 15,000 = the entitlement."""
    feed, d = subsidy.feed, subsidy.district
    finance = bearer(d, ("finance",), sub="fin-1")
    firm = await feed.firm(d)
    founder = bearer(d, ("firm",), firm_id=str(firm))
    await ok(
        await subsidy.put(
            f"/v1/accounts/{firm}/bank-account",
            json={"bank_account": "6222020200112233", "bank_name": "建设银行"},
            headers=founder,
        )
    )
    blue = await feed.invoice(firm, d, date(2026, 4, 1), cat("compute", 1_000_000))

    first, rows = await pay_everything(subsidy, finance)
    assert rows[0]["amount_yuan"] == "6000.00" and rows[0]["bank_account"] == "6222020200112233"
    assert first["status"] == "settled" and first["payments"][0]["status"] == "paid"
    assert (await entitlements(subsidy, firm))["compute"]["paid_fen"] == 600_000

    await feed.reverse(firm, d, blue, date(2026, 4, 1), cat("compute", 500_000))
    got = (await entitlements(subsidy, firm))["compute"]
    assert got["amount_fen"] == 300_000 and got["owed_fen"] == 0 and "多付" not in got["explanation"]["zh-CN"]
    open_ = (await ok(await subsidy.get("/v1/recoveries", headers=finance)))["items"]
    assert [(r["amount_fen"], r["remaining_fen"]) for r in open_ if r["recipient_id"] == str(firm)] == [(300_000, 300_000)]

    await feed.invoice(firm, d, date(2026, 6, 1), cat("compute", 2_000_000))
    second, rows = await pay_everything(subsidy, finance)
    (payment,) = second["payments"]
    assert (payment["gross_fen"], payment["recovered_fen"], payment["amount_fen"]) == (1_200_000, 300_000, 900_000)
    assert rows[0]["amount_yuan"] == "9000.00"
    final = (await entitlements(subsidy, firm))["compute"]
    assert final["amount_fen"] == 1_500_000 and final["paid_fen"] == 1_500_000 and final["owed_fen"] == 0
    assert [
        r for r in (await ok(await subsidy.get("/v1/recoveries", headers=finance)))["items"] if r["recipient_id"] == str(firm)
    ] == []

    outbox = subsidy.app.state.db.platform.outbox
    async with subsidy.app.state.db.uow() as uow:
        events = (
            (await uow.session.execute(select(outbox.c.payload).where(outbox.c.key == str(firm)).order_by(outbox.c.id)))
            .scalars()
            .all()
        )
    disbursed = [e["data"] for e in events if e["type"] == "opc.subsidy.payment.disbursed.v1"]
    assert [(e["gross_fen"], e["recovered_fen"], e["amount_fen"]) for e in disbursed] == [
        (600_000, 0, 600_000),
        (1_200_000, 300_000, 900_000),
    ]
    recovered = [e["data"] for e in events if e["type"] == "opc.subsidy.payment.recovered.v1"]
    assert [(e["amount_fen"], e["method"]) for e in recovered] == [(300_000, "netted")]


async def test_a_refused_transfer_puts_everything_back_and_bad_files_change_nothing(subsidy) -> None:
    feed, d = subsidy.feed, subsidy.district
    finance = bearer(d, ("finance",), sub="fin-2")
    firm = await feed.firm(d)
    await ok(
        await subsidy.put(
            f"/v1/accounts/{firm}/bank-account",
            json={"bank_account": "6222020200998877", "bank_name": "工商银行"},
            headers=finance,
        )
    )
    await feed.invoice(firm, d, date(2026, 4, 1), cat("tokens", 100_000))
    keyed = {**finance, "Idempotency-Key": f"batch-{firm}"}
    batch = await ok(await subsidy.post("/v1/payment-batches", json={"scope": d}, headers=keyed), 201)
    again = await ok(await subsidy.post("/v1/payment-batches", json={"scope": d}, headers=keyed), 201)
    assert again["id"] == batch["id"]
    ref = batch["payments"][0]["reference"]
    assert (await entitlements(subsidy, firm))["model_voucher"]["scheduled_fen"] == 30_000
    bad = await subsidy.post(
        f"/v1/payment-batches/{batch['id']}/bank-return", json={"file": f"{ref},paid,B1\nNOPE,paid,B2\n"}, headers=finance
    )
    assert bad.status_code == 422 and bad.json()["code"] == "bank_file_invalid" and "2" in bad.json()["detail"]
    assert (await entitlements(subsidy, firm))["model_voucher"]["paid_fen"] == 0
    failed = await ok(
        await subsidy.post(f"/v1/payment-batches/{batch['id']}/bank-return", json={"file": f"{ref},failed,R1\n"}, headers=finance)
    )
    assert failed["payments"][0]["status"] == "failed"
    back = (await entitlements(subsidy, firm))["model_voucher"]
    assert back["scheduled_fen"] == 0 and back["owed_fen"] == 30_000
    other = await subsidy.post("/v1/payment-batches", json={"scope": "elsewhere"}, headers=finance)
    assert other.status_code == 403
    firm_user = await subsidy.post("/v1/payment-batches", json={"scope": d}, headers=bearer(d, ("firm",), firm_id=str(firm)))
    assert firm_user.status_code == 403


async def test_a_receivable_without_a_later_payout_is_repaid(subsidy) -> None:
    """Paid 600 yuan on 1,000 yuan of compute; the invoice is fully reversed: 600 yuan to recover,
    no later payout to net it against, so the firm transfers it back."""
    feed, d = subsidy.feed, subsidy.district
    finance = bearer(d, ("finance",), sub="fin-3")
    firm = await feed.firm(d)
    await ok(
        await subsidy.put(
            f"/v1/accounts/{firm}/bank-account",
            json={"bank_account": "6222020200111111", "bank_name": "农业银行"},
            headers=finance,
        )
    )
    blue = await feed.invoice(firm, d, date(2026, 4, 1), cat("compute", 100_000))
    await pay_everything(subsidy, finance)
    await feed.reverse(firm, d, blue, date(2026, 4, 1), cat("compute", 100_000))
    (receivable,) = [
        r for r in (await ok(await subsidy.get("/v1/recoveries", headers=finance)))["items"] if r["recipient_id"] == str(firm)
    ]
    assert receivable["remaining_fen"] == 60_000
    other = await subsidy.post(
        f"/v1/recoveries/{receivable['id']}/repaid", json={"bank_reference": "X"}, headers=bearer("elsewhere", ("finance",))
    )
    assert other.status_code == 404
    done = await ok(
        await subsidy.post(f"/v1/recoveries/{receivable['id']}/repaid", json={"bank_reference": "ABC123"}, headers=finance)
    )
    assert (done["status"], done["remaining_fen"]) == ("repaid", 0)
    again = await subsidy.post(f"/v1/recoveries/{receivable['id']}/repaid", json={"bank_reference": "ABC123"}, headers=finance)
    assert again.status_code == 409
    outbox = subsidy.app.state.db.platform.outbox
    async with subsidy.app.state.db.uow() as uow:
        events = (await uow.session.execute(select(outbox.c.payload).where(outbox.c.key == str(firm)))).scalars().all()
    assert [
        (e["data"]["amount_fen"], e["data"]["method"]) for e in events if e["type"] == "opc.subsidy.payment.recovered.v1"
    ] == [(60_000, "repaid")]


async def test_budgets_hold_automatic_payouts_too(subsidy) -> None:
    """Compute budget of 5,000 yuan in the district: firm A is owed 6,000 (does not fit, skipped),
    firm B 3,000 (reserved, committed when paid). B's invoice fully reversed and repaid: released."""
    feed, d = subsidy.feed, subsidy.district
    finance = bearer(d, ("finance",), sub="fin-4")
    body = {"programme": "compute", "year": 2026, "scope": d, "total_fen": 500_000}
    budget = await ok(await subsidy.post("/v1/budgets", json=body, headers=bearer("*", ("admin",))), 201)
    a, b = await feed.firm(d), await feed.firm(d)
    for firm in (a, b):
        await ok(
            await subsidy.put(
                f"/v1/accounts/{firm}/bank-account",
                json={"bank_account": "6222020200222222", "bank_name": "中国银行"},
                headers=finance,
            )
        )
    await feed.invoice(a, d, date(2026, 4, 1), cat("compute", 1_000_000))
    blue = await feed.invoice(b, d, date(2026, 4, 1), cat("compute", 500_000))
    batch = await ok(await subsidy.post("/v1/payment-batches", json={"scope": d}, headers=finance), 201)
    assert [p["recipient_id"] for p in batch["payments"]] == [str(b)]
    assert batch["skipped"] == [{"recipient_kind": "firm", "recipient_id": str(a), "reason": "compute budget exhausted"}]

    async def figures() -> tuple[int, int]:
        rows = (await ok(await subsidy.get("/v1/budgets", params={"year": 2026}, headers=finance)))["items"]
        mine = next(r for r in rows if r["id"] == budget["id"])
        return mine["reserved_fen"], mine["committed_fen"]

    assert await figures() == (300_000, 0)
    ref = batch["payments"][0]["reference"]
    await ok(
        await subsidy.post(f"/v1/payment-batches/{batch['id']}/bank-return", json={"file": f"{ref},paid,B9"}, headers=finance)
    )
    assert await figures() == (0, 300_000)
    await feed.reverse(b, d, blue, date(2026, 4, 1), cat("compute", 500_000))
    (receivable,) = [
        r for r in (await ok(await subsidy.get("/v1/recoveries", headers=finance)))["items"] if r["recipient_id"] == str(b)
    ]
    await ok(await subsidy.post(f"/v1/recoveries/{receivable['id']}/repaid", json={"bank_reference": "R9"}, headers=finance))
    assert await figures() == (0, 0)


async def test_a_reversal_while_the_payment_is_in_the_bank_and_the_bank_refuses_it(subsidy) -> None:
    """6,000 yuan scheduled; the invoice is half reversed before the bank answers (3,000 yuan now owed,
    3,000 counted as over-paid). The bank refuses the transfer: nothing was paid, so nothing is to be
    recovered, and the next batch pays 3,000 yuan with nothing netted."""
    feed, d = subsidy.feed, subsidy.district
    finance = bearer(d, ("finance",), sub="fin-5")
    firm = await feed.firm(d)
    await ok(
        await subsidy.put(
            f"/v1/accounts/{firm}/bank-account",
            json={"bank_account": "6222020200333333", "bank_name": "交通银行"},
            headers=finance,
        )
    )
    blue = await feed.invoice(firm, d, date(2026, 4, 1), cat("compute", 1_000_000))
    batch = await ok(await subsidy.post("/v1/payment-batches", json={"scope": d}, headers=finance), 201)
    await feed.reverse(firm, d, blue, date(2026, 4, 1), cat("compute", 500_000))
    assert [
        r["remaining_fen"]
        for r in (await ok(await subsidy.get("/v1/recoveries", headers=finance)))["items"]
        if r["recipient_id"] == str(firm)
    ] == [300_000]
    ref = batch["payments"][0]["reference"]
    await ok(
        await subsidy.post(f"/v1/payment-batches/{batch['id']}/bank-return", json={"file": f"{ref},failed,NO1"}, headers=finance)
    )
    left = (await ok(await subsidy.get("/v1/recoveries", headers=finance)))["items"]
    assert [r for r in left if r["recipient_id"] == str(firm)] == []
    got = (await entitlements(subsidy, firm))["compute"]
    assert (got["amount_fen"], got["paid_fen"], got["owed_fen"]) == (300_000, 0, 300_000)
    second = await ok(await subsidy.post("/v1/payment-batches", json={"scope": d}, headers=finance), 201)
    assert [(p["gross_fen"], p["recovered_fen"], p["amount_fen"]) for p in second["payments"]] == [(300_000, 0, 300_000)]
