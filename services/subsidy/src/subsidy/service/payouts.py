"""Payment batches for finance: what is owed, netted against recoveries, as a file the bank takes.

A batch takes every owed amount in its scope under row locks, so two batches never schedule the
same fen. Nothing counts as paid until the bank's return file says so; a refused transfer puts
everything back (owed again, recoveries open again).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import case, select, update
from sqlalchemy.dialects.postgresql import insert

from opc_shared.auth import Principal
from opc_shared.contracts.subsidy import PaymentDisbursedV1, PaymentRecoveredV1
from opc_shared.db import Work, dicts
from opc_shared.errors import Conflict, DomainError, Forbidden, NotFound
from subsidy.adapters.tables import accounts, claims, entitlements, payment_batches, payments, recoveries
from subsidy.domain.claims import net
from subsidy.service import budgets

BATCH = {"en": "payment batch", "zh-CN": "支付批次"}


def _scope_of(principal: Principal, scope: str) -> str:
    if not principal.has_any("finance", "admin"):
        raise Forbidden("payment batches are finance's")
    if principal.district != "*" and scope != principal.district:
        raise Forbidden(f"scope {scope} is not yours")
    return scope


def _in(column, scope: str):
    return column.isnot(None) if scope == "*" else column == scope


async def create_batch(work: Work, principal: Principal, scope: str, now: datetime) -> dict:
    _scope_of(principal, scope)
    s = work.session
    owed = entitlements.c.amount_fen - (entitlements.c.paid_fen - entitlements.c.recovery_fen) - entitlements.c.scheduled_fen
    ent_rows = (
        (
            await s.execute(
                select(entitlements, owed.label("owed"))
                .where(owed > 0, _in(entitlements.c.district, scope))
                .order_by(entitlements.c.firm_id, entitlements.c.programme, entitlements.c.year)
                .with_for_update(of=entitlements)
            )
        )
        .mappings()
        .all()
    )
    claim_rows = (
        (
            await s.execute(
                select(claims)
                .where(claims.c.status.in_(("approved", "partly_approved")), _in(claims.c.district, scope))
                .order_by(claims.c.decided_at)
                .with_for_update()
            )
        )
        .mappings()
        .all()
    )
    firms = {r["firm_id"] for r in ent_rows} | {r["firm_id"] for r in claim_rows if r["firm_id"]}
    bank = {
        r.firm_id: r
        for r in await s.execute(
            select(accounts.c.firm_id, accounts.c.uscc, accounts.c.bank_account).where(accounts.c.firm_id.in_(firms))
        )
    }
    owed_by: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"items": [], "district": None, "code": None, "bank": None}
    )
    for r in ent_rows:
        acct = bank.get(r["firm_id"])
        entry = owed_by[("firm", str(r["firm_id"]))]
        entry.update(district=r["district"], code=acct.uscc if acct else None, bank=acct.bank_account if acct else None)
        entry["items"].append(
            {
                "source": "entitlement",
                "firm_id": str(r["firm_id"]),
                "programme": r["programme"],
                "year": r["year"],
                "amount_fen": int(r["owed"]),
            }
        )
    for r in claim_rows:
        acct = bank.get(r["firm_id"]) if r["firm_id"] else None
        entry = owed_by[(r["recipient_kind"], r["recipient_id"])]
        entry.update(
            district=r["district"],
            code=r["facts"].get("recipient_code") or (acct.uscc if acct else None) or entry["code"],
            bank=r["facts"].get("bank_account") or (acct.bank_account if acct else None) or entry["bank"],
        )
        entry["items"].append(
            {
                "source": "claim",
                "claim_id": str(r["id"]),
                "programme": r["programme"],
                "year": r["year"],
                "amount_fen": int(r["approved_fen"]),
                "status_before": r["status"],
            }
        )
    batch_id = uuid.uuid4()
    await s.execute(
        insert(payment_batches).values(
            id=batch_id, scope=scope, status="exported", created_by=principal.sub, created_at=now, total_fen=0
        )
    )
    total, skipped, zero_paid = 0, [], []
    for (kind, recipient), entry in sorted(owed_by.items()):
        if not entry["bank"]:
            skipped.append({"recipient_kind": kind, "recipient_id": recipient, "reason": "no bank account on file"})
            continue
        kept = []
        for item in entry["items"]:
            if item["source"] == "entitlement":
                try:
                    budget_id = await budgets.reserve_if_budgeted(
                        work, item["programme"], item["year"], entry["district"], item["amount_fen"]
                    )
                except DomainError as exc:
                    if exc.code != "budget_exhausted":
                        raise
                    skipped.append(
                        {"recipient_kind": kind, "recipient_id": recipient, "reason": f"{item['programme']} budget exhausted"}
                    )
                    continue
                item["budget_id"] = str(budget_id) if budget_id else None
            kept.append(item)
        entry["items"] = kept
        if not kept:
            continue
        gross = sum(i["amount_fen"] for i in entry["items"])
        open_recoveries = (
            await s.execute(
                select(recoveries.c.id, recoveries.c.remaining_fen)
                .where(recoveries.c.recipient_id == recipient, recoveries.c.status == "open")
                .order_by(recoveries.c.created_at)
                .with_for_update()
            )
        ).all()
        netted = net(gross, [(r.id, r.remaining_fen) for r in open_recoveries])
        for rid, amount in netted:
            await s.execute(
                update(recoveries).where(recoveries.c.id == rid).values(remaining_fen=recoveries.c.remaining_fen - amount)
            )
        recovered = sum(a for _, a in netted)
        payment_id = uuid.uuid4()
        await s.execute(
            insert(payments).values(
                id=payment_id,
                batch_id=batch_id,
                reference=f"OPC{payment_id.hex[:17].upper()}",
                recipient_kind=kind,
                recipient_id=recipient,
                recipient_code=entry["code"],
                bank_account=entry["bank"],
                district=entry["district"],
                gross_fen=gross,
                recovered_fen=recovered,
                amount_fen=gross - recovered,
                items={"lines": entry["items"], "netted": [{"recovery_id": str(rid), "amount_fen": a} for rid, a in netted]},
                status="pending",
            )
        )
        for item in entry["items"]:
            if item["source"] == "entitlement":
                await s.execute(
                    update(entitlements)
                    .where(
                        entitlements.c.firm_id == uuid.UUID(item["firm_id"]),
                        entitlements.c.programme == item["programme"],
                        entitlements.c.year == item["year"],
                    )
                    .values(scheduled_fen=entitlements.c.scheduled_fen + item["amount_fen"])
                )
            else:
                await s.execute(update(claims).where(claims.c.id == uuid.UUID(item["claim_id"])).values(status="scheduled"))
        total += gross - recovered
        if gross == recovered:
            zero_paid.append(payment_id)  # nothing to transfer: settled at once
    await s.execute(update(payment_batches).where(payment_batches.c.id == batch_id).values(total_fen=total))
    for payment_id in zero_paid:
        await _settle(work, payment_id, "paid", "netted", now)
    return {**await get_batch(work, principal, batch_id), "skipped": skipped}


async def get_batch(work: Work, principal: Principal, batch_id: uuid.UUID) -> dict:
    row = (await work.session.execute(select(payment_batches).where(payment_batches.c.id == batch_id))).mappings().first()
    if row is None or not (principal.has_any("finance", "admin") and principal.may_see_district(row["scope"])):
        raise NotFound(BATCH, batch_id)
    lines = (
        (await work.session.execute(select(payments).where(payments.c.batch_id == batch_id).order_by(payments.c.reference)))
        .mappings()
        .all()
    )
    return {**row, "payments": [dict(p) for p in lines], "skipped": []}


def _yuan(fen: int) -> str:
    """Banks take yuan with two decimals; written from integer fen, never through a float."""
    return f"{fen // 100}.{fen % 100:02d}"


async def bank_file(work: Work, principal: Principal, batch_id: uuid.UUID) -> str:
    batch = await get_batch(work, principal, batch_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["reference", "recipient_kind", "recipient_code", "bank_account", "amount_yuan", "currency"])
    for p in batch["payments"]:
        if p["status"] == "pending" and p["amount_fen"] > 0:
            writer.writerow(
                [p["reference"], p["recipient_kind"], p["recipient_code"] or "", p["bank_account"], _yuan(p["amount_fen"]), "CNY"]
            )
    return out.getvalue()


async def bank_return(work: Work, principal: Principal, batch_id: uuid.UUID, text: str, now: datetime) -> dict:
    """``reference,status,bank_reference`` per line (status ``paid`` or ``failed``); all or nothing."""
    batch = await get_batch(work, principal, batch_id)
    pending = {p["reference"]: p for p in batch["payments"] if p["status"] == "pending"}
    known = {p["reference"] for p in batch["payments"]}
    outcomes: list[tuple[uuid.UUID, str, str]] = []
    for n, line in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not line or (n == 1 and line[0].strip().lower() == "reference"):
            continue
        if len(line) < 3:
            raise DomainError("bank_file_invalid", {"line": n, "reason": "expected reference,status,bank_reference"})
        reference, status, bank_ref = (x.strip() for x in line[:3])
        if reference not in known:
            raise DomainError("bank_file_invalid", {"line": n, "reason": f"{reference} is not a payment of this batch"})
        if status not in ("paid", "failed"):
            raise DomainError("bank_file_invalid", {"line": n, "reason": f"status must be paid or failed, not {status}"})
        if not bank_ref or len(bank_ref) > 100:
            raise DomainError("bank_file_invalid", {"line": n, "reason": "bank_reference must be 1–100 characters"})
        if reference in pending:  # a line for a payment already settled is a repeat of the same file: no-op
            outcomes.append((pending.pop(reference)["id"], status, bank_ref))
    for payment_id, status, bank_ref in outcomes:
        await _settle(work, payment_id, status, bank_ref, now)
    left = (
        await work.session.execute(select(payments.c.id).where(payments.c.batch_id == batch_id, payments.c.status == "pending"))
    ).first()
    if left is None:
        await work.session.execute(update(payment_batches).where(payment_batches.c.id == batch_id).values(status="settled"))
    return await get_batch(work, principal, batch_id)


async def _settle(work: Work, payment_id: uuid.UUID, status: str, bank_ref: str, now: datetime) -> None:
    s = work.session
    p = (await s.execute(select(payments).where(payments.c.id == payment_id).with_for_update())).mappings().one()
    lines, netted = p["items"]["lines"], p["items"]["netted"]
    await s.execute(
        update(payments)
        .where(payments.c.id == payment_id)
        .values(status=status, bank_reference=bank_ref, paid_at=now if status == "paid" else None)
    )
    for item in lines:
        if item["source"] == "entitlement":
            where = (
                entitlements.c.firm_id == uuid.UUID(item["firm_id"]),
                entitlements.c.programme == item["programme"],
                entitlements.c.year == item["year"],
            )
            values = {"scheduled_fen": entitlements.c.scheduled_fen - item["amount_fen"]}
            if status == "paid":
                values["paid_fen"] = entitlements.c.paid_fen + item["amount_fen"]
            await s.execute(update(entitlements).where(*where).values(**values))
            if item.get("budget_id"):
                budget_id = uuid.UUID(item["budget_id"])
                if status == "paid":
                    await budgets.commit(work, budget_id, item["amount_fen"])
                else:
                    await budgets.release_reserved(work, budget_id, item["amount_fen"])
        else:
            claim_id = uuid.UUID(item["claim_id"])
            if status == "paid":
                row = (
                    await s.execute(
                        update(claims)
                        .where(claims.c.id == claim_id)
                        .values(status="paid", paid_at=now)
                        .returning(claims.c.budget_id)
                    )
                ).first()
                if row and row.budget_id:
                    await budgets.commit(work, row.budget_id, item["amount_fen"])
            else:
                await s.execute(update(claims).where(claims.c.id == claim_id).values(status=item["status_before"]))
    for n in netted:
        rid = uuid.UUID(n["recovery_id"])
        if status == "paid":
            rec = (
                (
                    await s.execute(
                        update(recoveries)
                        .where(recoveries.c.id == rid)
                        .values(
                            status=_closed_if_zero(),
                        )
                        .returning(recoveries)
                    )
                )
                .mappings()
                .one()
            )
            await _recovered(
                work, p, rec, rid, n["amount_fen"], method="netted", batch_id=p["batch_id"], reason=rec["reason"], now=now
            )
        else:
            await s.execute(
                update(recoveries)
                .where(recoveries.c.id == rid)
                .values(remaining_fen=recoveries.c.remaining_fen + n["amount_fen"], status="open")
            )
    if status != "paid":
        for item in lines:
            if item["source"] == "entitlement":
                await _cancel_excess_recovery(work, item)
    if status == "paid":
        work.publish(
            PaymentDisbursedV1(
                recipient_kind=p["recipient_kind"],
                recipient_id=p["recipient_id"],
                district=p["district"],
                payment_id=payment_id,
                batch_id=p["batch_id"],
                gross_fen=p["gross_fen"],
                recovered_fen=p["recovered_fen"],
                amount_fen=p["amount_fen"],
                bank_reference=bank_ref,
                programmes=sorted({i["programme"] for i in lines}),
                paid_at=now,
            )
        )


async def _cancel_excess_recovery(work: Work, item: dict) -> None:
    """A recovery raised while this payment was scheduled counted it as paid. The bank refused it,
    so whatever part of the recovery was only owed because of it is cancelled (newest first)."""
    s = work.session
    where = (
        entitlements.c.firm_id == uuid.UUID(item["firm_id"]),
        entitlements.c.programme == item["programme"],
        entitlements.c.year == item["year"],
    )
    row = (await s.execute(select(entitlements).where(*where).with_for_update())).mappings().one()
    excess = row["recovery_fen"] - max(row["paid_fen"] + row["scheduled_fen"] - row["amount_fen"], 0)
    if excess <= 0:
        return
    open_ = (
        await s.execute(
            select(recoveries.c.id, recoveries.c.remaining_fen)
            .where(
                recoveries.c.recipient_id == item["firm_id"],
                recoveries.c.programme == item["programme"],
                recoveries.c.year == item["year"],
                recoveries.c.status == "open",
            )
            .order_by(recoveries.c.created_at.desc())
            .with_for_update()
        )
    ).all()
    cancelled = 0
    for rid, remaining in open_:
        take = min(excess - cancelled, remaining)
        if take <= 0:
            break
        await s.execute(
            update(recoveries)
            .where(recoveries.c.id == rid)
            .values(
                amount_fen=recoveries.c.amount_fen - take,
                remaining_fen=recoveries.c.remaining_fen - take,
                status=case((recoveries.c.amount_fen - take == 0, "cancelled"), else_=recoveries.c.status),
            )
        )
        cancelled += take
    await s.execute(update(entitlements).where(*where).values(recovery_fen=entitlements.c.recovery_fen - cancelled))


def _closed_if_zero():
    from sqlalchemy import case

    return case((recoveries.c.remaining_fen == 0, "netted"), else_="open")


async def open_recoveries(work: Work, principal: Principal, district: str | None) -> list[dict]:
    if not principal.has_any("finance", "admin", "reviewer"):
        raise Forbidden("recoveries are finance's")
    scope = principal.district if principal.district != "*" else district
    query = select(recoveries).where(recoveries.c.status == "open").order_by(recoveries.c.created_at)
    if scope:
        query = query.where(recoveries.c.district == scope)
    return dicts(await work.session.execute(query))


async def mark_repaid(work: Work, principal: Principal, recovery_id: uuid.UUID, bank_reference: str, now: datetime) -> dict:
    """A receivable the recipient paid back by transfer (no later payout to net it against)."""
    if not principal.has_any("finance", "admin"):
        raise Forbidden("recoveries are finance's")
    row = (
        (await work.session.execute(select(recoveries).where(recoveries.c.id == recovery_id).with_for_update()))
        .mappings()
        .first()
    )
    if row is None or not principal.may_see_district(row["district"]):
        raise NotFound({"en": "recovery", "zh-CN": "追回款"}, recovery_id)
    if row["status"] != "open":
        raise Conflict(f"the recovery is {row['status']}")
    updated = (
        (
            await work.session.execute(
                update(recoveries)
                .where(recoveries.c.id == recovery_id)
                .values(remaining_fen=0, status="repaid")
                .returning(recoveries)
            )
        )
        .mappings()
        .one()
    )
    reason = f"{row['reason']} (bank {bank_reference})"[:500]
    await _recovered(work, row, row, recovery_id, row["remaining_fen"], method="repaid", batch_id=None, reason=reason, now=now)
    return dict(updated)


async def _recovered(
    work: Work,
    recipient: Any,
    recovery: Any,
    recovery_id: uuid.UUID,
    amount_fen: int,
    *,
    method: Literal["netted", "repaid"],
    batch_id: uuid.UUID | None,
    reason: str,
    now: datetime,
) -> None:
    """Money owed back came in: the budget gets it back and the recipient's history says how."""
    await budgets.release_recovered(work, recovery["programme"], recovery["year"], recovery["district"], amount_fen)
    work.publish(
        PaymentRecoveredV1(
            recipient_kind=recipient["recipient_kind"],
            recipient_id=recipient["recipient_id"],
            district=recipient["district"],
            recovery_id=recovery_id,
            programme=recovery["programme"],
            amount_fen=amount_fen,
            method=method,
            batch_id=batch_id,
            reason=reason,
            recovered_at=now,
        )
    )


async def set_bank_account(work: Work, principal: Principal, firm_id: uuid.UUID, account: str, bank_name: str) -> dict:
    row = (await work.session.execute(select(accounts).where(accounts.c.firm_id == firm_id))).mappings().first()
    if row is None or not principal.may_see_firm(firm_id, row["district"]):
        raise NotFound({"en": "subsidy account", "zh-CN": "补贴账户"}, firm_id)
    if not (principal.firm_id == str(firm_id) or principal.has_any("finance", "admin")):
        raise Forbidden("only the firm or finance set its bank account")
    updated = (
        (
            await work.session.execute(
                update(accounts)
                .where(accounts.c.firm_id == firm_id)
                .values(bank_account=account, bank_name=bank_name)
                .returning(accounts)
            )
        )
        .mappings()
        .one()
    )
    return dict(updated)
