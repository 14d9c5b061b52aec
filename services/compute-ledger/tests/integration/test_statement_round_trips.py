"""A firm's month costs two round trips to PostgreSQL, whatever it holds: the firm (who may read it),
then every part of the month in one statement."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event

from opc_devstack.ledger_flows import gpu, invoice, invoice_line, invoice_number, tokens
from opc_devstack.pytest_plugin import bearer

FINANCE = bearer("*", ("finance",))


async def test_a_statement_is_two_round_trips(ledger) -> None:
    firm = await ledger.firm(district="wuhou")
    vendor = await ledger.vendor()
    at = ledger.clock.now() - timedelta(days=3)
    g = [gpu(firm["uscc"], at=at + timedelta(hours=i), amount=a) for i, a in enumerate((1060, 2120))]
    t = [tokens(firm["uscc"], at=at, amount=500)]
    await vendor.usage(g + t)
    number = invoice_number()
    lines = [invoice_line(1, "compute", g), invoice_line(2, "tokens", t)]
    body = invoice(number, seller=vendor.uscc, buyer=firm["uscc"], issued_on="2026-11-19", lines=lines)
    await ledger.ok(await vendor.post("invoice.issued", body))
    red = {"number": invoice_number(), "reverses": number, "issued_on": "2026-11-20", "reason": "退一部分",
           "lines": [{"line_no": 1, "amount_fen": 1000, "tax_fen": 60}]}  # fmt: skip
    await ledger.ok(await vendor.post("invoice.reversed", red))

    statements: list[str] = []
    engine = ledger.db.engine.sync_engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731 - (conn, cursor, statement, ...)
    event.listen(engine, "before_cursor_execute", listener)
    try:
        for path in ("statement", "statement.csv"):
            statements.clear()
            got = await ledger.client.get(f"/v1/firms/{firm['firm_id']}/{path}", params={"month": "2026-11"}, headers=FINANCE)
            assert got.status_code == 200, got.text
            assert len(statements) == 2, statements
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    totals = got.text.splitlines()[-2:]
    assert totals[0].endswith(",2120") and totals[1].endswith(",500"), "compute 3,180 less the 1,060 reversed; tokens 500"
