"""Journey through the real processes, over HTTP only: a firm registered at the registry, a vendor
registered at the ledger, signed usage batches, an e-invoice, a partial red-letter reversal; the
firm's statement shows the invoiced amount, and the events on the ledger's topic carry the same figures."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from opc_devstack.flows import RegistryClient
from opc_devstack.infra import SERVICES, free_port
from opc_devstack.ledger_flows import LedgerClient, gpu, invoice, invoice_line, invoice_number, new_uscc, tokens
from opc_devstack.services import ServiceProcesses
from opc_shared.contracts import topics
from opc_shared.contracts.ledger import InvoiceRecordedV1, InvoiceReversedV1

SHANGHAI_OFFSET = timedelta(hours=8)


@pytest.fixture(scope="module")
def stack(infra) -> Iterator[ServiceProcesses]:
    procs = ServiceProcesses(infra.env(), ports={svc.package: free_port() for svc in SERVICES})
    procs.start(timeout=90)
    try:
        yield procs
    finally:
        procs.stop()


async def _ledger_events(bootstrap: str, firm_id: str, want: int, timeout: float = 20) -> list[dict]:
    consumer = AIOKafkaConsumer(
        topics.LEDGER, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=f"journey-{uuid.uuid4().hex}"
    )
    await consumer.start()
    found: list[dict] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(found) < want and asyncio.get_running_loop().time() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    if record.key and record.key.decode() == firm_id:
                        found.append(json.loads(record.value))
    finally:
        await consumer.stop()
    return found


def test_vendor_usage_invoice_reversal_statement_and_events(stack: ServiceProcesses, infra) -> None:
    http = httpx.Client(timeout=15)
    registry = RegistryClient(stack.url("registry"), "wuhou", http)
    community_id, _ = registry.community("武侯算力旅程社区")
    firm = registry.register_firm(name="武侯算力旅程工作室", founder_name="李雷", community_id=community_id)
    ledger = LedgerClient(stack.url("compute_ledger"), http)
    ledger.wait_for_firm(firm.firm_id)

    vendor = ledger.vendor("旅程算力云有限公司", new_uscc(), "both")
    assert vendor["webhook_secret"].startswith("whsec_")
    assert vendor["webhook_secret"] not in http.get(f"{ledger.base}/v1/vendors/{vendor['id']}", headers=ledger.admin).text
    now = datetime.now(UTC)
    g = [gpu(firm.uscc, at=now - timedelta(hours=2, minutes=i), seconds=600, amount=a) for i, a in enumerate((1060, 2120, 530))]
    t = [tokens(firm.uscc, at=now - timedelta(hours=1, minutes=i), amount=a) for i, a in enumerate((1000, 500))]
    assert ledger.usage(vendor, g)["accepted"] == 3
    second = ledger.usage(vendor, [*t, g[0]])
    assert (second["accepted"], second["duplicate"]) == (2, 1)

    test_call = subprocess.run(
        [sys.executable, "-m", "compute_ledger", "send-test", "--vendor", vendor["id"], "--secret", vendor["webhook_secret"],
         "--url", ledger.base],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert test_call.returncode == 0 and '"accepted":1' in test_call.stdout.replace(" ", ""), test_call.stdout + test_call.stderr

    today = (now + SHANGHAI_OFFSET).date()
    number = invoice_number()
    issued = ledger.invoice(
        vendor,
        invoice(number, seller=vendor["uscc"], buyer=firm.uscc, issued_on=today.isoformat(),
                lines=[invoice_line(1, "compute", g), invoice_line(2, "tokens", t)]),
    )  # fmt: skip
    assert issued["status"] == "recorded"
    red = {"number": invoice_number(), "reverses": number, "issued_on": today.isoformat(), "reason": "部分退款",
           "lines": [{"line_no": 1, "amount_fen": 1000, "tax_fen": 60}]}  # fmt: skip
    assert ledger.reversal(vendor, red)["fully_reversed"] is False

    month = f"{today:%Y-%m}"
    statement = ledger.statement(firm.firm_id, month)
    assert (statement["compute_invoiced_fen"], statement["tokens_invoiced_fen"]) == (3710 - 1060, 1500)
    own = http.get(
        f"{ledger.base}/v1/firms/{firm.firm_id}/statement",
        params={"month": month},
        headers=registry.caseworker,
    )
    assert own.status_code == 200 and own.json()["compute_invoiced_fen"] == 2650

    events = asyncio.run(_ledger_events(stack.env["OPC_KAFKA_BOOTSTRAP_SERVERS"], firm.firm_id, want=2))
    recorded = [InvoiceRecordedV1.model_validate(e["data"]) for e in events if e["type"] == InvoiceRecordedV1.event_type]
    reversed_ = [InvoiceReversedV1.model_validate(e["data"]) for e in events if e["type"] == InvoiceReversedV1.event_type]
    assert len(recorded) == 1 and len(reversed_) == 1
    by_category = {c.category: c.total_fen for c in recorded[0].categories}
    assert by_category == {"compute": 3710, "tokens": 1500}
    assert by_category["compute"] - reversed_[0].total_fen == statement["compute_invoiced_fen"]
    assert reversed_[0].reverses == number and reversed_[0].fully_reversed is False
