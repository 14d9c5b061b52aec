"""``python -m compute_ledger send-test``: a signed test webhook, exactly as a vendor sends one.

Vendors run it (or read it) to check their secret and our answer before wiring their billing
system: it posts one ``usage.reported`` call with one small record and prints our answer."""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

from compute_ledger.adapters.signatures import sign
from compute_ledger.domain.identifiers import make_uscc
from compute_ledger.settings import ComputeLedgerSettings


def sample_record(buyer: str, now: datetime) -> dict:
    started = (now - timedelta(hours=1)).replace(microsecond=0)
    return {
        "id": f"send-test-{uuid.uuid4().hex[:12]}",
        "buyer_uscc": buyer,
        "kind": "gpu",
        "started_at": started.isoformat().replace("+00:00", "Z"),
        "ended_at": (started + timedelta(minutes=10)).isoformat().replace("+00:00", "Z"),
        "gpu_model": "A800",
        "gpu_seconds": 600,
        "amount_fen": 200,
        "tax_rate_bp": 600,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m compute_ledger send-test", description=__doc__)
    parser.add_argument("--vendor", required=True, help="your vendor id (from POST /v1/vendors)")
    parser.add_argument("--secret", default=os.environ.get("OPC_VENDOR_SECRET"), help="whsec_… (or OPC_VENDOR_SECRET)")
    settings = ComputeLedgerSettings()
    parser.add_argument("--url", default=f"http://{settings.host}:{settings.http_port}", help="the ledger's base URL")
    parser.add_argument("--buyer", help="the buyer's USCC (default: a made-up one, kept as unattributed)")
    args = parser.parse_args(argv)
    if not args.secret:
        parser.error("--secret or OPC_VENDOR_SECRET is required")
    now = datetime.now(UTC)
    buyer = args.buyer or make_uscc(f"91510100{uuid.uuid4().int % 10**9:09d}")
    body = json.dumps(
        {"type": "usage.reported", "timestamp": now.isoformat(), "data": {"records": [sample_record(buyer, now)]}}
    ).encode()
    headers = sign(body, f"msg_{uuid.uuid4().hex}", now, args.secret)
    if not args.url.startswith(("http://", "https://")):
        parser.error("--url must be http:// or https://")
    url = f"{args.url.rstrip('/')}/v1/webhooks/vendors/{args.vendor}"
    request = urllib.request.Request(url, data=body, headers=headers)  # noqa: S310 - scheme checked above
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - scheme checked above
            status, answer = response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        status, answer = exc.code, exc.read().decode()
    print(f"HTTP {status}")
    print(answer)
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
