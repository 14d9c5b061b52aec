"""A compute vendor as the ledger sees it: USCCs, usage records and e-invoices in the webhook
contract's shape (DESIGN.md "Vendor webhooks"), signed per Standard Webhooks.
Used by tests, the demo loader and the benchmark; it talks HTTP only."""

from __future__ import annotations

import itertools
import json
import os
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from standardwebhooks.webhooks import Webhook

from opc_shared.identifiers import complete_uscc, org_code_check_char

_serial = itertools.count((uuid.uuid4().int + os.getpid()) % 10**9)


def uscc(first17: str) -> str:
    """Completes 17 characters of a unified social credit code with its check character (GB 32100)."""
    return complete_uscc(first17)


def org_uscc(division: str, body8: str) -> str:
    """A code whose organisation-code check character (GB 11714, character 17) is right too, as the registry checks."""
    return uscc(f"91{division}{body8}{org_code_check_char(body8)}")


def new_uscc(division: str = "510100") -> str:
    return org_uscc(division, f"{next(_serial) % 10**8:08d}")


def sign(body: bytes, webhook_id: str, timestamp: datetime, secret: str) -> dict[str, str]:
    """The Standard Webhooks headers for one call."""
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, timestamp, body.decode()),
        "content-type": "application/json",
    }


def envelope(type_: str, data: dict, at: datetime) -> bytes:
    return json.dumps({"type": type_, "timestamp": at.isoformat(), "data": data}, ensure_ascii=False).encode()


def gpu(buyer: str, rid: str | None = None, *, at: datetime, seconds: int = 3600, amount: int = 1200, **extra) -> dict:
    return {
        "id": rid or f"r-{uuid.uuid4().hex}",
        "buyer_uscc": buyer,
        "kind": "gpu",
        "started_at": at.isoformat(),
        "ended_at": (at + timedelta(seconds=seconds)).isoformat(),
        "gpu_model": "A800",
        "gpu_seconds": seconds,
        "amount_fen": amount,
        "tax_rate_bp": 600,
        **extra,
    }


def tokens(
    buyer: str, rid: str | None = None, *, at: datetime, inp: int = 1_000_000, out: int = 500_000, amount: int = 1000, **extra
) -> dict:
    return {
        "id": rid or f"t-{uuid.uuid4().hex}",
        "buyer_uscc": buyer,
        "kind": "tokens",
        "started_at": at.isoformat(),
        "ended_at": (at + timedelta(minutes=1)).isoformat(),
        "model": "qwen-max",
        "input_tokens": inp,
        "cached_input_tokens": 0,
        "output_tokens": out,
        "amount_fen": amount,
        "tax_rate_bp": 600,
        **extra,
    }


def tax_of(amount_fen: int, rate_bp: int) -> int:
    """VAT on an amount, half-up to the fen (integer arithmetic)."""
    return (amount_fen * rate_bp + 5_000) // 10_000


def invoice_line(line_no: int, category: str, records: list[dict], rate_bp: int = 600) -> dict:
    """A line billing ``records``: their tax-included amounts split into amount + VAT."""
    total = sum(r["amount_fen"] for r in records)
    amount = (total * 10_000 + (10_000 + rate_bp) // 2) // (10_000 + rate_bp)
    return {
        "line_no": line_no,
        "category": category,
        "description": "算力服务" if category == "compute" else "模型调用服务",
        "amount_fen": amount,
        "tax_rate_bp": rate_bp,
        "tax_fen": total - amount,
        "record_ids": [r["id"] for r in records],
    }


def invoice(number: str, *, seller: str, buyer: str, issued_on: str, lines: list[dict]) -> dict:
    return {
        "number": number,
        "issued_on": issued_on,
        "seller_uscc": seller,
        "buyer_uscc": buyer,
        "lines": lines,
        "total_fen": sum(line["amount_fen"] + line["tax_fen"] for line in lines),
    }


def invoice_number() -> str:
    return f"{uuid.uuid4().int % 10**20:020d}"


class LedgerClient:
    """The ledger's public API as a vendor, a community's admin and city finance call it (sync HTTP)."""

    def __init__(self, base_url: str, http: httpx.Client | None = None) -> None:
        from opc_devstack.flows import token

        self.base = base_url.rstrip("/")
        self.http = http or httpx.Client(timeout=15)
        self.admin = token("*", "admin", sub="ledger-admin")
        self.finance = token("*", "finance", sub="ledger-finance")

    def _ok(self, response: httpx.Response, *ok: int) -> dict:
        if response.status_code not in (ok or (200, 201)):
            raise AssertionError(f"{response.request.method} {response.request.url}: {response.status_code} {response.text}")
        return response.json()

    def vendor(self, name: str, vendor_uscc: str, kind: str, key: str | None = None) -> dict:
        headers = {**self.admin, **({"Idempotency-Key": key} if key else {})}
        return self._ok(
            self.http.post(f"{self.base}/v1/vendors", json={"name": name, "uscc": vendor_uscc, "kind": kind}, headers=headers)
        )

    def price(self, vendor_id: str, **body) -> None:
        got = self.http.post(f"{self.base}/v1/vendors/{vendor_id}/prices", json=body, headers=self.admin)
        self._ok(got, 201, 409)  # 409: that version exists already

    def send(self, vendor: dict, type_: str, data: dict, *, msg_id: str | None = None) -> httpx.Response:
        now = datetime.now(UTC)
        body = envelope(type_, data, now)
        headers = sign(body, msg_id or f"msg_{uuid.uuid4().hex}", now, vendor["webhook_secret"])
        return self.http.post(f"{self.base}/v1/webhooks/vendors/{vendor['id']}", content=body, headers=headers)

    def usage(self, vendor: dict, records: list[dict]) -> dict:
        return self._ok(self.send(vendor, "usage.reported", {"records": records}))

    def invoice(self, vendor: dict, data: dict) -> dict:
        return self._ok(self.send(vendor, "invoice.issued", data))

    def reversal(self, vendor: dict, data: dict) -> dict:
        return self._ok(self.send(vendor, "invoice.reversed", data))

    def statement(self, firm_id: str, month: str) -> dict:
        return self._ok(self.http.get(f"{self.base}/v1/firms/{firm_id}/statement", params={"month": month}, headers=self.finance))

    def wait_for_firm(self, firm_id: str, timeout: float = 20) -> None:
        import time

        deadline = time.monotonic() + timeout
        while self.http.get(f"{self.base}/v1/firm-accounts/{firm_id}", headers=self.finance).status_code != 200:
            if time.monotonic() > deadline:
                raise AssertionError(f"firm {firm_id} never reached the ledger")
            time.sleep(0.1)
