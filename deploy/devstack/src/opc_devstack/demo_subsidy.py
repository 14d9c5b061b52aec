"""Subsidy demo data, through the public APIs: a compliant vendor reports usage and e-invoices for the
demo firms by signed webhooks, so their compute and model-voucher entitlements accrue by themselves;
the firms register bank accounts; the city sets a budget, a street office files a claim,
finance makes a payment batch for Wuhou.
Idempotent: a second run finds the entitlements and adds nothing."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from opc_devstack.flows import token
from opc_devstack.ledger_flows import envelope, gpu, invoice, invoice_line, invoice_number, new_uscc, sign, tokens
from opc_shared.clock import SHANGHAI

#: (GPU fen, token fen) invoiced per demo firm, tax included
USAGE = [(1_060_000, 530_000), (8_480_000, 2_120_000), (318_000, 0)]


def load(ledger_url: str, subsidy_url: str, firm_ids: list[str]) -> int:
    city = token("*", "finance")
    today = datetime.now(UTC).astimezone(SHANGHAI).date()
    with httpx.Client(timeout=15) as http:
        first = http.get(f"{subsidy_url}/v1/firms/{firm_ids[0]}/entitlements", params={"year": today.year}, headers=city)
        if first.status_code == 200 and first.json()["items"]:
            return 0
        vendor = http.post(
            f"{ledger_url}/v1/vendors",
            json={"name": "蓉算合规算力服务有限公司", "uscc": new_uscc(), "kind": "both"},
            headers=token("*", "admin"),
        ).json()

        def webhook(type_: str, data: dict) -> None:
            now = datetime.now(UTC)
            body = envelope(type_, data, now)
            headers = sign(body, f"msg_{uuid.uuid4().hex}", now, vendor["webhook_secret"])
            http.post(f"{ledger_url}/v1/webhooks/vendors/{vendor['id']}", content=body, headers=headers).raise_for_status()

        invoiced = []
        for firm_id, (gpu_fen, token_fen) in zip(firm_ids, USAGE, strict=False):
            account = http.get(f"{subsidy_url}/v1/accounts/{firm_id}", headers=city).json()
            buyer = account.get("uscc")
            if not buyer:
                continue
            at = datetime.now(UTC) - timedelta(days=2)
            g = [gpu(buyer, at=at, amount=gpu_fen)]
            t = [tokens(buyer, at=at, amount=token_fen)] if token_fen else []
            webhook("usage.reported", {"records": g + t})
            lines = [invoice_line(1, "compute", g)] + ([invoice_line(2, "tokens", t)] if t else [])
            webhook(
                "invoice.issued",
                invoice(invoice_number(), seller=vendor["uscc"], buyer=buyer, issued_on=today.isoformat(), lines=lines),
            )
            invoiced.append(firm_id)
            founder = token(account["district"], "firm", firm_id=firm_id)
            http.put(
                f"{subsidy_url}/v1/accounts/{firm_id}/bank-account",
                json={"bank_account": f"62220202{abs(hash(firm_id)) % 10**10:010d}", "bank_name": "中国建设银行成都分行"},
                headers=founder,
            )
        http.post(
            f"{subsidy_url}/v1/budgets",
            json={"programme": "craftsman", "year": today.year, "scope": "*", "total_fen": 100_000_000},
            headers=token("*", "admin"),
        )
        http.post(
            f"{subsidy_url}/v1/claims",
            json={
                "programme": "craftsman",
                "year": today.year,
                "recipient_kind": "person",
                "recipient_id": "demo-craftsman-1",
                "recipient_code": "11010519491231002X",
                "bank_account": "6222020200556677",
                "district": "wuhou",
                "evidence": [
                    {
                        "kind": "certificate",
                        "number": "CDGJ-2026-0001",
                        "document_ref": "oss://demo/craftsman.pdf",
                        "checksum": "0" * 64,
                    }
                ],
            },
            headers=token("wuhou", "caseworker", sub="demo-caseworker"),
        )

        def accrued(firm_id: str) -> bool:
            got = http.get(f"{subsidy_url}/v1/firms/{firm_id}/entitlements", params={"year": today.year}, headers=city)
            return got.status_code == 200 and bool(got.json()["items"])

        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not all(accrued(f) for f in invoiced):
            time.sleep(0.2)
        # Finance pays what Wuhou's firms are owed: one netted batch, its bank file at /bank-file.
        http.post(
            f"{subsidy_url}/v1/payment-batches",
            json={"scope": "wuhou"},
            headers={**city, "Idempotency-Key": "demo-payment-batch-wuhou"},
        )
    return len(invoiced)
