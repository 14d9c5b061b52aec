"""``invoice.issued`` and ``invoice.reversed``: match e-invoices to usage, record red-letter reversals,
and tell subsidy (``InvoiceRecordedV1`` / ``InvoiceReversedV1``, keyed by firm) what now counts."""

from __future__ import annotations

import uuid
from datetime import datetime
from uuid import UUID

from pydantic import ValidationError
from sqlalchemy import and_, case, func, or_, select, text, update

from compute_ledger.adapters.tables import firm_accounts, invoice_lines, invoices
from compute_ledger.domain.invoices import (
    InvoiceIssued,
    InvoiceReversed,
    LineLeft,
    RecordFacts,
    fully_reversed,
    match,
    per_category,
    reversal_problems,
)
from compute_ledger.domain.usage import record_key
from opc_shared.contracts.ledger import CategoryAmount, InvoiceRecordedV1, InvoiceReversedV1
from opc_shared.db import UnitOfWork
from opc_shared.errors import DomainError, InvalidInput


def _parse(model, data: dict):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err.get("loc", ()))
            errors.append(("data" + (f".{loc}" if loc else ""), err.get("type", "value_error"), err.get("msg", "invalid")))
        raise InvalidInput(errors) from None


async def _existing(uow: UnitOfWork, number: str, body_hash: bytes) -> dict | None:
    row = (await uow.session.execute(select(invoices).where(invoices.c.number == number))).mappings().first()
    if row is None:
        return None
    if row["body_hash"] != body_hash:
        raise DomainError("invoice_conflict", {"number": number})
    return {"number": number, "status": row["status"], "duplicate": True, "problems": row["problems"]}


async def issued(uow: UnitOfWork, vendor_id: UUID, vendor_uscc: str, data: dict, *, now: datetime, tolerance_fen: int) -> dict:
    invoice: InvoiceIssued = _parse(InvoiceIssued, data)
    body_hash = invoice.body_hash()
    if (dup := await _existing(uow, invoice.number, body_hash)) is not None:
        return dup
    firm = (await uow.session.execute(select(firm_accounts).where(firm_accounts.c.uscc == invoice.buyer_uscc))).mappings().first()
    community = (
        await uow.session.execute(
            text("SELECT community_id FROM ledger.communities WHERE operator_uscc = :u LIMIT 1"), {"u": invoice.buyer_uscc}
        )
    ).first()
    ids = [rid for line in invoice.lines for rid in line.record_ids]
    facts = await _record_facts(uow, vendor_id, ids)
    problems = match(
        invoice,
        vendor_uscc=vendor_uscc,
        records=facts,
        buyer_is_community=community is not None and firm is None,
        tolerance_fen=tolerance_fen,
    )
    if problems:
        status = "mismatched"
    elif firm is None and community is None:
        status = "unattributed"
    else:
        status = "recorded"
    invoice_id = uuid.uuid4()
    await uow.session.execute(
        invoices.insert().values(
            invoice_id=invoice_id,
            number=invoice.number,
            vendor_id=vendor_id,
            kind="blue",
            issued_on=invoice.issued_on,
            seller_uscc=invoice.seller_uscc,
            buyer_uscc=invoice.buyer_uscc,
            firm_id=firm["firm_id"] if firm else None,
            community_id=community.community_id if community and not firm else None,
            status=status,
            problems=[p.as_json() for p in problems],
            total_fen=invoice.total_fen,
            reason="",
            body_hash=body_hash,
            received_at=now,
            recorded_at=now if status == "recorded" else None,
        )
    )
    line_ids = {}
    for line in invoice.lines:
        line_ids[line.line_no] = (
            await uow.session.execute(
                invoice_lines.insert()
                .values(
                    invoice_id=invoice_id,
                    line_no=line.line_no,
                    category=line.category,
                    description=line.description,
                    amount_fen=line.amount_fen,
                    tax_rate_bp=line.tax_rate_bp,
                    tax_fen=line.tax_fen,
                    record_ids=line.record_ids,
                    reversed_amount_fen=0,
                    reversed_tax_fen=0,
                )
                .returning(invoice_lines.c.line_id)
            )
        ).scalar_one()
    if status != "mismatched":
        await _bill(uow, vendor_id, {line_ids[line.line_no]: line.record_ids for line in invoice.lines if line.record_ids})
    if status == "recorded" and firm is not None:
        await publish_recorded(uow, invoice_id, now)
    return {"number": invoice.number, "status": status, "duplicate": False, "problems": [p.as_json() for p in problems]}


async def _record_facts(uow: UnitOfWork, vendor_id: UUID, ids: list[str]) -> dict[str, RecordFacts]:
    if not ids:
        return {}
    rows = await uow.session.execute(
        text(
            "SELECT u.record_id, u.buyer_uscc, u.kind, u.amount_fen, u.superseded_by, u.invoice_line_id, u.pool_id, u.over_quota "
            "FROM ledger.usage_keys k JOIN ledger.usage u ON u.usage_id = k.usage_id AND u.started_at = k.started_at "
            "WHERE k.record_key = ANY(CAST(:keys AS bytea[])) AND u.vendor_id = :vendor_id FOR UPDATE OF u"
        ),
        {"keys": [record_key(vendor_id, rid) for rid in ids], "vendor_id": vendor_id},
    )
    return {
        r.record_id: RecordFacts(
            record_id=r.record_id,
            buyer_uscc=r.buyer_uscc,
            kind=r.kind,
            amount_fen=r.amount_fen,
            superseded=r.superseded_by is not None,
            billed=r.invoice_line_id is not None,
            in_pool=r.pool_id is not None and not r.over_quota,
        )
        for r in rows.all()
    }


async def _bill(uow: UnitOfWork, vendor_id: UUID, lines: dict[int, list[str]], *, clear: bool = False) -> None:
    """Marks records as billed by their line (or, with ``clear``, uninvoiced again)."""
    keys, line_of = [], []
    for line_id, record_ids in lines.items():
        for rid in record_ids:
            keys.append(record_key(vendor_id, rid))
            line_of.append(line_id)
    if not keys:
        return
    await uow.session.execute(
        text(
            "UPDATE ledger.usage u SET invoice_line_id = CASE WHEN :clear THEN NULL ELSE v.line_id END "
            "FROM unnest(CAST(:keys AS bytea[]), CAST(:lines AS bigint[])) AS v(record_key, line_id) "
            "JOIN ledger.usage_keys k ON k.record_key = v.record_key "
            "WHERE u.usage_id = k.usage_id AND u.started_at = k.started_at"
        ),
        {"keys": keys, "lines": line_of, "clear": clear},
    )


async def _invoice_with_lines(uow: UnitOfWork, invoice_id: UUID) -> tuple[dict, list[dict]]:
    inv = dict((await uow.session.execute(select(invoices).where(invoices.c.invoice_id == invoice_id))).mappings().one())
    lines = [
        dict(r)
        for r in (
            await uow.session.execute(
                select(invoice_lines).where(invoice_lines.c.invoice_id == invoice_id).order_by(invoice_lines.c.line_no)
            )
        ).mappings()
    ]
    return inv, lines


async def _firm_and_vendor(uow: UnitOfWork, firm_id: UUID, vendor_id: UUID) -> tuple[str, str]:
    row = (
        await uow.session.execute(
            text(
                "SELECT f.district, v.uscc FROM ledger.firm_accounts f, ledger.vendors v "
                "WHERE f.firm_id = :f AND v.vendor_id = :v"
            ),
            {"f": firm_id, "v": vendor_id},
        )
    ).one()
    return row.district, row.uscc


async def publish_recorded(uow: UnitOfWork, invoice_id: UUID, now: datetime) -> None:
    inv, lines = await _invoice_with_lines(uow, invoice_id)
    district, vendor_uscc = await _firm_and_vendor(uow, inv["firm_id"], inv["vendor_id"])
    categories = per_category([(ln["category"], ln["amount_fen"], ln["tax_fen"]) for ln in lines])
    uow.publish(
        InvoiceRecordedV1(
            firm_id=inv["firm_id"],
            district=district,
            vendor_id=inv["vendor_id"],
            vendor_uscc=vendor_uscc,
            invoice_number=inv["number"],
            issued_on=inv["issued_on"],
            categories=[CategoryAmount(**c) for c in categories],
            total_fen=sum(c["total_fen"] for c in categories),
            recorded_at=now,
        )
    )


async def _publish_reversed(uow: UnitOfWork, red_id: UUID, blue: dict, fully: bool, now: datetime) -> None:
    red, red_lines = await _invoice_with_lines(uow, red_id)
    district, vendor_uscc = await _firm_and_vendor(uow, blue["firm_id"], blue["vendor_id"])
    categories = per_category([(ln["category"], ln["amount_fen"], ln["tax_fen"]) for ln in red_lines])
    uow.publish(
        InvoiceReversedV1(
            firm_id=blue["firm_id"],
            district=district,
            vendor_id=blue["vendor_id"],
            vendor_uscc=vendor_uscc,
            invoice_number=red["number"],
            reverses=blue["number"],
            reverses_issued_on=blue["issued_on"],
            issued_on=red["issued_on"],
            reason=red["reason"],
            categories=[CategoryAmount(**c) for c in categories],
            total_fen=sum(c["total_fen"] for c in categories),
            fully_reversed=fully,
            recorded_at=now,
        )
    )


async def reversed_(uow: UnitOfWork, vendor_id: UUID, data: dict, *, now: datetime) -> dict:
    reversal: InvoiceReversed = _parse(InvoiceReversed, data)
    body_hash = reversal.body_hash()
    if (dup := await _existing(uow, reversal.number, body_hash)) is not None:
        return dup
    blue = (
        (
            await uow.session.execute(
                select(invoices)
                .where(invoices.c.number == reversal.reverses, invoices.c.vendor_id == vendor_id, invoices.c.kind == "blue")
                .with_for_update()
            )
        )
        .mappings()
        .first()
    )
    if blue is None:
        raise DomainError("reversal_refused", {"reason": f"no invoice {reversal.reverses} from this vendor"})
    blue = dict(blue)
    _, lines = await _invoice_with_lines(uow, blue["invoice_id"])
    left = {
        ln["line_no"]: LineLeft(
            ln["category"], ln["amount_fen"], ln["tax_fen"], ln["reversed_amount_fen"], ln["reversed_tax_fen"]
        )
        for ln in lines
    }
    if fully_reversed(left):
        raise DomainError("reversal_refused", {"reason": f"invoice {reversal.reverses} is already fully reversed"})
    problems = reversal_problems(reversal, left)
    if problems:
        index = {line.line_no: i for i, line in enumerate(reversal.lines)}
        raise DomainError(
            "reversal_refused",
            {"reason": "; ".join(p.detail for p in problems)},
            fields=[(f"data.lines[{index[p.line_no]}]", p.code, p.detail) for p in problems],
        )
    red_id = uuid.uuid4()
    await uow.session.execute(
        invoices.insert().values(
            invoice_id=red_id,
            number=reversal.number,
            vendor_id=vendor_id,
            kind="red",
            reverses_id=blue["invoice_id"],
            issued_on=reversal.issued_on,
            seller_uscc=blue["seller_uscc"],
            buyer_uscc=blue["buyer_uscc"],
            firm_id=blue["firm_id"],
            community_id=blue["community_id"],
            status="recorded",
            problems=[],
            total_fen=sum(line.amount_fen + line.tax_fen for line in reversal.lines),
            reason=reversal.reason,
            body_hash=body_hash,
            received_at=now,
            recorded_at=now,
        )
    )
    by_no = {ln["line_no"]: ln for ln in lines}
    for line in reversal.lines:
        await uow.session.execute(
            invoice_lines.insert().values(
                invoice_id=red_id,
                line_no=line.line_no,
                category=by_no[line.line_no]["category"],
                description=f"红字 {reversal.reverses} 第 {line.line_no} 行",
                amount_fen=line.amount_fen,
                tax_rate_bp=by_no[line.line_no]["tax_rate_bp"],
                tax_fen=line.tax_fen,
                record_ids=[],
                reversed_amount_fen=0,
                reversed_tax_fen=0,
            )
        )
        await uow.session.execute(
            update(invoice_lines)
            .where(invoice_lines.c.line_id == by_no[line.line_no]["line_id"])
            .values(
                reversed_amount_fen=invoice_lines.c.reversed_amount_fen + line.amount_fen,
                reversed_tax_fen=invoice_lines.c.reversed_tax_fen + line.tax_fen,
            )
        )
        prev = left[line.line_no]
        left[line.line_no] = LineLeft(
            prev.category,
            prev.amount_fen,
            prev.tax_fen,
            prev.reversed_amount_fen + line.amount_fen,
            prev.reversed_tax_fen + line.tax_fen,
        )
    fully = fully_reversed(left)
    if fully:
        await uow.session.execute(update(invoices).where(invoices.c.invoice_id == blue["invoice_id"]).values(status="reversed"))
        if blue["status"] in ("recorded", "unattributed"):
            await _bill(uow, vendor_id, {ln["line_id"]: ln["record_ids"] for ln in lines}, clear=True)
    if blue["status"] == "recorded" and blue["firm_id"] is not None:
        await _publish_reversed(uow, red_id, blue, fully, now)
    return {
        "number": reversal.number,
        "status": "recorded",
        "reverses": reversal.reverses,
        "fully_reversed": fully,
        "duplicate": False,
    }


async def attribute_to_firm(uow: UnitOfWork, uscc: str, firm_id: UUID, now: datetime) -> int:
    """Invoices that arrived before their buyer was registered now count, with their reversals. One
    fully reversed in the meantime (it was unattributed: no firm, no community, no problems, unlike a
    mismatched one) is attributed too: on the firm's statement, its events netting to nothing."""
    was_unattributed = and_(
        invoices.c.firm_id.is_(None),
        invoices.c.community_id.is_(None),
        or_(
            invoices.c.status == "unattributed",
            and_(invoices.c.status == "reversed", func.jsonb_array_length(invoices.c.problems) == 0),
        ),
    )
    rows = (
        (
            await uow.session.execute(
                update(invoices)
                .where(invoices.c.buyer_uscc == uscc, invoices.c.kind == "blue", was_unattributed)
                .values(
                    firm_id=firm_id,
                    status=case((invoices.c.status == "unattributed", "recorded"), else_=invoices.c.status),
                    recorded_at=now,
                )
                .returning(invoices.c.invoice_id)
            )
        )
        .scalars()
        .all()
    )
    for invoice_id in rows:
        await publish_recorded(uow, invoice_id, now)
        blue = dict((await uow.session.execute(select(invoices).where(invoices.c.invoice_id == invoice_id))).mappings().one())
        reds = (
            (
                await uow.session.execute(
                    select(invoices.c.invoice_id).where(invoices.c.reverses_id == invoice_id).order_by(invoices.c.received_at)
                )
            )
            .scalars()
            .all()
        )
        await uow.session.execute(update(invoices).where(invoices.c.reverses_id == invoice_id).values(firm_id=firm_id))
        for i, red_id in enumerate(reds):
            await _publish_reversed(uow, red_id, blue, fully=blue["status"] == "reversed" and i == len(reds) - 1, now=now)
    return len(rows)
