"""Invoices against usage, red-letter reversals, the firm's statement and meters, and who may read them."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text

from opc_devstack.ledger_flows import gpu, invoice, invoice_line, invoice_number, new_uscc, tokens
from opc_devstack.pytest_plugin import bearer
from opc_shared.contracts.ledger import InvoiceRecordedV1, InvoiceReversedV1

FINANCE = bearer("*", ("finance",))


async def outbox(ledger, event_type: str, firm_id: str) -> list[dict]:
    async with ledger.db.sessionmaker() as session:
        rows = await session.execute(
            text("SELECT payload FROM ledger.outbox WHERE event_type = :t AND key = :k ORDER BY id"),
            {"t": event_type, "k": firm_id},
        )
        return [r[0]["data"] for r in rows]


async def statement(ledger, firm_id: str, month: str = "2026-11", headers=FINANCE, **params) -> dict:
    got = await ledger.client.get(f"/v1/firms/{firm_id}/statement", params={"month": month, **params}, headers=headers)
    return await ledger.ok(got)


async def _billed_firm(ledger):
    firm = await ledger.firm(district="wuhou")
    vendor = await ledger.vendor()
    at = ledger.clock.now() - timedelta(days=3)
    g = [gpu(firm["uscc"], at=at + timedelta(hours=i), amount=a) for i, a in enumerate((1060, 2120, 530))]
    t = [tokens(firm["uscc"], at=at, amount=a) for a in (1000, 500)]
    await vendor.usage(g + t)
    number = invoice_number()
    body = invoice(
        number,
        seller=vendor.uscc,
        buyer=firm["uscc"],
        issued_on="2026-11-19",
        lines=[invoice_line(1, "compute", g), invoice_line(2, "tokens", t)],
    )
    got = await ledger.ok(await vendor.post("invoice.issued", body))
    return firm, vendor, g, t, number, got


async def test_invoice_matches_usage_and_subsidy_hears_of_it(ledger) -> None:
    firm, vendor, g, _t, number, got = await _billed_firm(ledger)
    assert got["status"] == "recorded" and got["problems"] == []
    st = await statement(ledger, firm["firm_id"])
    assert (st["compute_invoiced_fen"], st["tokens_invoiced_fen"]) == (3710, 1500)
    assert sum(u["invoiced_fen"] for u in st["usage"]) == 5210 and all(u["uninvoiced_fen"] == 0 for u in st["usage"])
    [event] = await outbox(ledger, InvoiceRecordedV1.event_type, firm["firm_id"])
    recorded = InvoiceRecordedV1.model_validate(event)
    assert recorded.invoice_number == number and recorded.total_fen == 5210 and recorded.district == "wuhou"
    by_cat = {c.category: c for c in recorded.categories}
    assert by_cat["compute"].total_fen == 3710 and by_cat["compute"].amount_fen == 3500 and by_cat["tokens"].total_fen == 1500
    # the same invoice again is a duplicate; the same number with another body a conflict
    body = invoice(number, seller=vendor.uscc, buyer=firm["uscc"], issued_on="2026-11-19", lines=[invoice_line(1, "compute", g)])
    assert (await vendor.post("invoice.issued", body)).status_code == 409


async def test_mismatched_invoice_counts_for_nothing(ledger) -> None:
    firm, vendor, g, _t, _, _ = await _billed_firm(ledger)
    extra = gpu(firm["uscc"], at=ledger.clock.now() - timedelta(hours=5), amount=999)
    await vendor.usage([extra])
    line = invoice_line(1, "compute", [g[0], extra])  # g[0] is billed already
    line["amount_fen"] += 50  # and the amounts no longer add up
    line["tax_fen"] = (line["amount_fen"] * 600 + 5000) // 10000
    body = invoice(invoice_number(), seller=vendor.uscc, buyer=firm["uscc"], issued_on="2026-11-19", lines=[line])
    got = await ledger.ok(await vendor.post("invoice.issued", body))
    assert got["status"] == "mismatched"
    assert {p["code"] for p in got["problems"]} == {"already_billed", "amount_mismatch"}
    st = await statement(ledger, firm["firm_id"])
    assert st["compute_invoiced_fen"] == 3710
    assert [i["status"] for i in st["invoices"] if i["number"] == body["number"]] == ["mismatched"]
    assert len(await outbox(ledger, InvoiceRecordedV1.event_type, firm["firm_id"])) == 1
    # a corrected invoice for the record billed nowhere yet counts
    fixed = invoice(
        invoice_number(),
        seller=vendor.uscc,
        buyer=firm["uscc"],
        issued_on="2026-11-20",
        lines=[invoice_line(1, "compute", [extra])],
    )
    assert (await ledger.ok(await vendor.post("invoice.issued", fixed)))["status"] == "recorded"
    assert (await statement(ledger, firm["firm_id"]))["compute_invoiced_fen"] == 3710 + 999


async def test_red_letter_partial_then_full_and_over_reversal_refused(ledger) -> None:
    firm, vendor, _g, _t, number, _ = await _billed_firm(ledger)
    before = ledger.clock.now()
    ledger.clock.advance(timedelta(hours=1))
    partial = {"number": invoice_number(), "reverses": number, "issued_on": "2026-11-20", "reason": "退一部分",
               "lines": [{"line_no": 1, "amount_fen": 1000, "tax_fen": 60}]}  # fmt: skip
    got = await ledger.ok(await vendor.post("invoice.reversed", partial))
    assert got["fully_reversed"] is False
    st = await statement(ledger, firm["firm_id"])
    assert (st["compute_invoiced_fen"], st["tokens_invoiced_fen"]) == (2650, 1500)
    assert (await statement(ledger, firm["firm_id"], as_of=before.isoformat()))["compute_invoiced_fen"] == 3710
    [event] = await outbox(ledger, InvoiceReversedV1.event_type, firm["firm_id"])
    reversed_ = InvoiceReversedV1.model_validate(event)
    assert (reversed_.reverses, reversed_.total_fen, reversed_.fully_reversed) == (number, 1060, False)
    assert reversed_.categories[0].amount_fen == 1000 and reversed_.categories[0].tax_fen == 60
    # compute line: 3500 + 210 billed, 1000 + 60 reversed: 2500 + 150 left
    over = {"number": invoice_number(), "reverses": number, "issued_on": "2026-11-20",
            "lines": [{"line_no": 1, "amount_fen": 2501, "tax_fen": 150}]}  # fmt: skip
    refused = await vendor.post("invoice.reversed", over)
    assert refused.status_code == 409 and refused.json()["code"] == "reversal_refused"
    assert refused.json()["errors"][0]["field"] == "data.lines[0]"
    unknown = {**over, "number": invoice_number(), "reverses": invoice_number()}
    assert (await vendor.post("invoice.reversed", unknown)).status_code == 409
    lines = [{"line_no": 1, "amount_fen": 2500, "tax_fen": 150}, {"line_no": 2, "amount_fen": 1415, "tax_fen": 85}]
    rest = {"number": invoice_number(), "reverses": number, "issued_on": "2026-11-21", "lines": lines}
    got = await ledger.ok(await vendor.post("invoice.reversed", rest))
    assert got["fully_reversed"] is True
    st = await statement(ledger, firm["firm_id"])
    assert (st["compute_invoiced_fen"], st["tokens_invoiced_fen"]) == (0, 0)
    assert all(u["invoiced_fen"] == 0 for u in st["usage"])  # uninvoiced again, billable by a new invoice
    again = {**rest, "number": invoice_number()}
    assert (await vendor.post("invoice.reversed", again)).status_code == 409
    events = [InvoiceReversedV1.model_validate(e) for e in await outbox(ledger, InvoiceReversedV1.event_type, firm["firm_id"])]
    assert [e.fully_reversed for e in events] == [False, True] and sum(e.total_fen for e in events) == 5210
    async with ledger.db.sessionmaker() as session:
        sql = "SELECT count(*) FROM ledger.invoices WHERE reverses_id IS NOT NULL AND firm_id = CAST(:f AS uuid)"
        reds = (await session.execute(text(sql), {"f": firm["firm_id"]})).scalar_one()
    assert reds == 2


async def test_who_may_read_a_statement(ledger) -> None:
    firm, *_ = await _billed_firm(ledger)
    other = await ledger.firm(district="gaoxin")
    fid = firm["firm_id"]
    own = bearer("wuhou", ("firm",), firm_id=fid)
    assert (await statement(ledger, fid, headers=own))["compute_invoiced_fen"] == 3710
    assert (await statement(ledger, fid, headers=bearer("wuhou", ("caseworker",))))["firm_id"] == fid
    refused = [
        bearer("gaoxin", ("firm",), firm_id=other["firm_id"]),  # another firm
        bearer("gaoxin", ("caseworker",)),  # another district
        bearer("wuhou", ("scenario_owner",)),
    ]
    for headers in refused:
        got = await ledger.client.get(f"/v1/firms/{fid}/statement", params={"month": "2026-11"}, headers=headers)
        assert got.status_code == 404, got.text
    assert (await ledger.client.get(f"/v1/firms/{fid}/statement", params={"month": "2026-13"}, headers=own)).status_code == 422


async def test_statement_csv_and_meters(ledger) -> None:
    firm, *_ = await _billed_firm(ledger)
    got = await ledger.client.get(f"/v1/firms/{firm['firm_id']}/statement.csv", params={"month": "2026-11"}, headers=FINANCE)
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    lines = got.text.splitlines()
    assert lines[0].startswith("section,key,category") and lines[-2].endswith(",3710") and lines[-1].endswith(",1500")
    meters = await ledger.ok(
        await ledger.client.get(
            f"/v1/firms/{firm['firm_id']}/meters", params={"granularity": "day", "month": "2026-11"}, headers=FINANCE
        )
    )
    meters = meters["items"]
    gpu_rows = [m for m in meters if m["kind"] == "gpu"]
    assert len(gpu_rows) == 1 and gpu_rows[0]["records"] == 3 and gpu_rows[0]["gpu_seconds"] == 3 * 3600
    assert gpu_rows[0]["max_amount_fen"] == 2120 and gpu_rows[0]["invoiced_fen"] == 3710
    assert gpu_rows[0]["bucket"] == "2026-11-16T16:00:00Z"  # 17 November in Chengdu
    hourly = await ledger.ok(
        await ledger.client.get(
            f"/v1/firms/{firm['firm_id']}/meters", params={"granularity": "hour", "month": "2026-11"}, headers=FINANCE
        )
    )
    hourly = hourly["items"]
    assert sum(1 for m in hourly if m["kind"] == "gpu") == 3
    assert datetime.fromisoformat(hourly[0]["latest_ended_at"].replace("Z", "+00:00")).tzinfo is not None


async def test_invoice_before_its_buyer_registers_counts_once_the_firm_exists(ledger) -> None:
    vendor = await ledger.vendor()
    buyer = new_uscc()
    at = ledger.clock.now() - timedelta(days=1)
    g = [gpu(buyer, at=at, amount=1060), gpu(buyer, at=at, amount=2120)]
    await vendor.usage(g)
    number = invoice_number()
    body = invoice(number, seller=vendor.uscc, buyer=buyer, issued_on="2026-11-19", lines=[invoice_line(1, "compute", g)])
    assert (await ledger.ok(await vendor.post("invoice.issued", body)))["status"] == "unattributed"
    red = {"number": invoice_number(), "reverses": number, "issued_on": "2026-11-20",
           "lines": [{"line_no": 1, "amount_fen": 1000, "tax_fen": 60}]}  # fmt: skip
    assert (await ledger.ok(await vendor.post("invoice.reversed", red)))["fully_reversed"] is False
    firm = await ledger.firm(uscc=buyer, district="wuhou")
    st = await statement(ledger, firm["firm_id"])
    assert st["compute_invoiced_fen"] == 3180 - 1060
    recorded = [InvoiceRecordedV1.model_validate(e) for e in await outbox(ledger, InvoiceRecordedV1.event_type, firm["firm_id"])]
    reversed_ = [InvoiceReversedV1.model_validate(e) for e in await outbox(ledger, InvoiceReversedV1.event_type, firm["firm_id"])]
    assert [r.total_fen for r in recorded] == [3180] and [r.total_fen for r in reversed_] == [1060]


async def test_invoice_fully_reversed_before_its_buyer_registers_is_on_the_firms_statement_netting_to_nothing(ledger) -> None:
    """Found left open by the first ledger session: a blue invoice fully reversed while its buyer was not
    yet registered stayed unattributed for ever (missing from the firm's statement and events). A
    mismatched one, which never counted, stays out."""
    vendor = await ledger.vendor()
    buyer = new_uscc()
    at = ledger.clock.now() - timedelta(days=1)
    g = [gpu(buyer, at=at, amount=1060), gpu(buyer, at=at + timedelta(hours=1), amount=2120)]
    await vendor.usage(g)
    number, wrong = invoice_number(), invoice_number()
    body = invoice(number, seller=vendor.uscc, buyer=buyer, issued_on="2026-11-19", lines=[invoice_line(1, "compute", g[:1])])
    assert (await ledger.ok(await vendor.post("invoice.issued", body)))["status"] == "unattributed"
    line = invoice_line(1, "compute", g[1:])
    line["amount_fen"] += 500  # does not match its record: mismatched
    bad = invoice(wrong, seller=vendor.uscc, buyer=buyer, issued_on="2026-11-19", lines=[line])
    assert (await ledger.ok(await vendor.post("invoice.issued", bad)))["status"] == "mismatched"
    for reverses, lines in ((number, body["lines"]), (wrong, bad["lines"])):
        red = {"number": invoice_number(), "reverses": reverses, "issued_on": "2026-11-20",
               "lines": [{"line_no": 1, "amount_fen": lines[0]["amount_fen"], "tax_fen": lines[0]["tax_fen"]}]}  # fmt: skip
        assert (await ledger.ok(await vendor.post("invoice.reversed", red)))["fully_reversed"] is True
    firm = await ledger.firm(uscc=buyer, district="wuhou")
    st = await statement(ledger, firm["firm_id"])
    assert st["compute_invoiced_fen"] == 0
    listed = {i["number"] for i in st["invoices"]}
    assert number in listed and wrong not in listed
    assert [r["reverses"] for r in st["reversals"]] == [number]
    recorded = [InvoiceRecordedV1.model_validate(e) for e in await outbox(ledger, InvoiceRecordedV1.event_type, firm["firm_id"])]
    reversed_ = [InvoiceReversedV1.model_validate(e) for e in await outbox(ledger, InvoiceReversedV1.event_type, firm["firm_id"])]
    assert [r.invoice_number for r in recorded] == [number] and [r.total_fen for r in recorded] == [1060]
    assert [(r.reverses, r.total_fen, r.fully_reversed) for r in reversed_] == [(number, 1060, True)]
