"""A compute vendor as the ledger sees it: USCCs, usage records and e-invoices in the webhook
contract's shape (DESIGN.md "Vendor webhooks"), signed per Standard Webhooks.
Used by tests, the demo loader and the benchmark; it talks HTTP only."""

from __future__ import annotations

import itertools
import json
import os
import uuid
from datetime import datetime, timedelta

from standardwebhooks.webhooks import Webhook

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_serial = itertools.count((uuid.uuid4().int + os.getpid()) % 10**9)


def uscc(first17: str) -> str:
    """Completes 17 characters of a unified social credit code with its check character (GB 32100)."""
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return first17 + USCC_CHARSET[(31 - total % 31) % 31]


def new_uscc(prefix: str = "915101") -> str:
    return uscc(f"{prefix}{next(_serial) % 10**11:011d}")


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
