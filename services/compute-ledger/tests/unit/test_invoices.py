from datetime import date

from compute_ledger.domain.invoices import InvoiceIssued, InvoiceReversed, LineLeft, RecordFacts, match, reversal_problems
from opc_devstack.ledger_flows import invoice, invoice_line, uscc

SELLER = uscc("91510100MA6CXXXX0")
BUYER = uscc("91510100MA6CYYYY0")


def _facts(rid: str, amount: int, **kw) -> RecordFacts:
    return RecordFacts(
        rid,
        kw.get("buyer", BUYER),
        kw.get("kind", "gpu"),
        amount,
        kw.get("superseded", False),
        kw.get("billed", False),
        kw.get("in_pool", False),
    )


def _invoice(records: list[dict]) -> InvoiceIssued:
    body = invoice("1" * 20, seller=SELLER, buyer=BUYER, issued_on="2026-11-20", lines=[invoice_line(1, "compute", records)])
    return InvoiceIssued.model_validate(body)


def test_a_line_matching_its_records_is_valid() -> None:
    records = [{"id": "a", "amount_fen": 1060}, {"id": "b", "amount_fen": 2121}]
    inv = _invoice(records)
    assert inv.lines[0].amount_fen + inv.lines[0].tax_fen == 3181
    facts = {"a": _facts("a", 1060), "b": _facts("b", 2121)}
    assert match(inv, vendor_uscc=SELLER, records=facts, buyer_is_community=False, tolerance_fen=1) == []


def test_every_reason_is_reported() -> None:
    inv = _invoice([{"id": "a", "amount_fen": 1060}, {"id": "b", "amount_fen": 1000}, {"id": "c", "amount_fen": 5}])
    facts = {"a": _facts("a", 1060, billed=True), "b": _facts("b", 900, kind="tokens")}
    codes = {p.code for p in match(inv, vendor_uscc=BUYER, records=facts, buyer_is_community=False, tolerance_fen=1)}
    assert codes == {"seller_not_vendor", "already_billed", "wrong_category", "unknown_record", "amount_mismatch"}


def test_reversal_never_more_than_is_left() -> None:
    left = {1: LineLeft("compute", 1000, 60, 400, 24)}
    ok = InvoiceReversed(
        number="2" * 20, reverses="1" * 20, issued_on=date(2026, 11, 21), lines=[{"line_no": 1, "amount_fen": 600, "tax_fen": 36}]
    )
    assert reversal_problems(ok, left) == []
    over = InvoiceReversed(
        number="2" * 20, reverses="1" * 20, issued_on=date(2026, 11, 21), lines=[{"line_no": 1, "amount_fen": 601, "tax_fen": 0}]
    )
    assert [p.code for p in reversal_problems(over, left)] == ["over_reversal"]
    unknown = InvoiceReversed(
        number="2" * 20, reverses="1" * 20, issued_on=date(2026, 11, 21), lines=[{"line_no": 2, "amount_fen": 1, "tax_fen": 0}]
    )
    assert [p.code for p in reversal_problems(unknown, left)] == ["unknown_line"]
