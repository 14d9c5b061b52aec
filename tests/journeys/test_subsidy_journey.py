"""The subsidy journey through the real processes, over HTTP and events only: a firm registered at the
registry, usage and an e-invoice reported to the compute ledger by signed webhooks, automatic
``compute`` and ``model_voucher`` entitlements at the subsidy service with their explanation, a
payment batch, the bank's return file, paid."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from opc_devstack.flows import RegistryClient
from opc_devstack.infra import SERVICES, free_port
from opc_devstack.ledger_flows import envelope, gpu, invoice, invoice_line, invoice_number, new_uscc, sign, tokens
from opc_devstack.services import ServiceProcesses
from opc_shared.auth import mint_token
from opc_shared.clock import SHANGHAI
from opc_shared.db import asyncpg_dsn
from opc_shared.settings import DEFAULT_JWT_SECRET


@pytest.fixture(scope="module")
def stack(infra) -> Iterator[ServiceProcesses]:
    procs = ServiceProcesses(infra.env(), ports={svc.package: free_port() for svc in SERVICES})
    procs.start(timeout=90)
    try:
        yield procs
    finally:
        procs.stop()


def token(district: str, *roles: str, sub: str | None = None, firm_id: str | None = None) -> dict:
    secret = os.environ.get("OPC_JWT_SECRET", DEFAULT_JWT_SECRET)
    jwt = mint_token(secret, sub=sub or f"user-{district}", district=district, roles=list(roles), firm_id=firm_id)
    return {"Authorization": f"Bearer {jwt}"}


def ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()


def wait_until(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


async def _subsidy_events(infra, firm_id: str) -> list[dict]:
    conn = await asyncpg.connect(asyncpg_dsn(infra.env()["OPC_SUBSIDY_DATABASE_URL"]))
    try:
        rows = await conn.fetch("SELECT payload FROM subsidy.outbox WHERE key = $1 ORDER BY id", firm_id)
    finally:
        await conn.close()
    import json

    return [json.loads(r["payload"]) if isinstance(r["payload"], str) else r["payload"] for r in rows]


def test_invoiced_usage_becomes_an_explained_entitlement_and_is_paid(stack: ServiceProcesses, infra) -> None:
    """GPU usage 10,600 yuan and tokens 5,300 yuan (tax included) on one e-invoice:
    compute 10,600 × 60 % = 6,360 yuan; model voucher 5,300 × 30 % = 1,590 yuan; paid 7,950 yuan."""
    registry, ledger, subsidy = stack.url("registry"), stack.url("compute_ledger"), stack.url("subsidy")
    client = RegistryClient(registry, "wuhou")
    community_id, _ = client.community(f"武侯 补贴旅程社区 {uuid.uuid4().hex[:4]}")
    firm = client.register_firm(
        name=f"成都算力补贴旅程{uuid.uuid4().hex[:4]}有限公司", founder_name="李雷", community_id=community_id
    )
    firm_id, firm_uscc = str(firm.firm_id), firm.uscc
    city = token("*", "finance")
    assert wait_until(lambda: httpx.get(f"{ledger}/v1/firm-accounts/{firm_id}", headers=city, timeout=5).status_code == 200)
    assert wait_until(lambda: httpx.get(f"{subsidy}/v1/accounts/{firm_id}", headers=city, timeout=5).status_code == 200)

    vendor = ok(
        httpx.post(
            f"{ledger}/v1/vendors",
            json={"name": f"合规算力商-{uuid.uuid4().hex[:4]}", "uscc": new_uscc(), "kind": "both"},
            headers=token("*", "admin"),
            timeout=10,
        ),
        201,
    )

    def webhook(type_: str, data: dict) -> dict:
        now = datetime.now(UTC)
        body = envelope(type_, data, now)
        headers = sign(body, f"msg_{uuid.uuid4().hex}", now, vendor["webhook_secret"])
        return ok(httpx.post(f"{ledger}/v1/webhooks/vendors/{vendor['id']}", content=body, headers=headers, timeout=10))

    at = datetime.now(UTC) - timedelta(days=1)
    g = [gpu(firm_uscc, at=at + timedelta(hours=i), amount=a) for i, a in enumerate((530_000, 530_000))]
    t = [tokens(firm_uscc, at=at, amount=530_000)]
    usage = webhook("usage.reported", {"records": g + t})
    assert usage["accepted"] == 3, usage
    issued_on = datetime.now(UTC).astimezone(SHANGHAI).date()
    number = invoice_number()
    body = invoice(
        number,
        seller=vendor["uscc"],
        buyer=firm_uscc,
        issued_on=issued_on.isoformat(),
        lines=[invoice_line(1, "compute", g), invoice_line(2, "tokens", t)],
    )
    assert webhook("invoice.issued", body)["status"] == "recorded"

    founder = token("wuhou", "firm", firm_id=firm_id, sub="journey-founder")

    def entitled() -> dict:
        got = httpx.get(f"{subsidy}/v1/firms/{firm_id}/entitlements", params={"year": issued_on.year}, headers=founder, timeout=5)
        items = {e["programme"]: e for e in got.json()["items"]} if got.status_code == 200 else {}
        return items if {"compute", "model_voucher"} <= set(items) else {}

    got = wait_until(entitled)
    assert got, "the invoice never reached the subsidy service"
    assert got["compute"]["amount_fen"] == 636_000 and got["model_voucher"]["amount_fen"] == 159_000
    zh, en = got["compute"]["explanation"]["zh-CN"], got["compute"]["explanation"]["en"]
    assert "第（三）条" in zh and "chengdu-ai-opc 2026.1" in zh
    assert "已开票算力费用 10,600.00 元 × 比例 60% = 6,360.00 元" in zh and "待支付 6,360.00 元" in zh
    assert "invoiced compute cost 10,600.00 yuan × rate 60%" in en
    assert "1,590.00" in got["model_voucher"]["explanation"]["zh-CN"]

    ok(
        httpx.put(
            f"{subsidy}/v1/accounts/{firm_id}/bank-account",
            json={"bank_account": "6222020200112233", "bank_name": "建设银行"},
            headers=founder,
            timeout=5,
        )
    )
    finance = token("wuhou", "finance", sub="journey-finance")
    batch = ok(httpx.post(f"{subsidy}/v1/payment-batches", json={"scope": "wuhou"}, headers=finance, timeout=30), 201)
    mine = [p for p in batch["payments"] if p["recipient_id"] == firm_id]
    assert [(p["gross_fen"], p["amount_fen"]) for p in mine] == [(795_000, 795_000)]
    bank_file = httpx.get(f"{subsidy}/v1/payment-batches/{batch['id']}/bank-file", headers=finance, timeout=10).text
    rows = {r["reference"]: r for r in csv.DictReader(io.StringIO(bank_file))}
    assert rows[mine[0]["reference"]]["amount_yuan"] == "7950.00" and rows[mine[0]["reference"]]["recipient_code"] == firm_uscc
    answer = "reference,status,bank_reference\n" + "".join(f"{ref},paid,CCB{i:06d}\n" for i, ref in enumerate(rows))
    settled = ok(
        httpx.post(f"{subsidy}/v1/payment-batches/{batch['id']}/bank-return", json={"file": answer}, headers=finance, timeout=30)
    )
    assert all(p["status"] == "paid" for p in settled["payments"] if p["reference"] in rows)

    after = entitled()
    assert (after["compute"]["paid_fen"], after["compute"]["owed_fen"]) == (636_000, 0)
    assert "已支付 6,360.00 元" in after["compute"]["explanation"]["zh-CN"]
    events = asyncio.run(_subsidy_events(infra, firm_id))
    disbursed = [e["data"] for e in events if e["type"] == "opc.subsidy.payment.disbursed.v1"]
    assert [(d["amount_fen"], sorted(d["programmes"])) for d in disbursed] == [(795_000, ["compute", "model_voucher"])]


def test_the_demo_loader_accrues_entitlements_once(stack: ServiceProcesses) -> None:
    """`make run`'s demo data: the first demo firm invoiced 10,600 yuan GPU and 5,300 yuan tokens."""
    from opc_devstack import demo

    urls = (stack.url("registry"), stack.url("subsidy"), stack.url("compute_ledger"))
    ids = demo.load(*urls)
    year = datetime.now(UTC).astimezone(SHANGHAI).date().year
    city = token("*", "finance")

    def first() -> dict:
        got = httpx.get(f"{urls[1]}/v1/firms/{ids[0]}/entitlements", params={"year": year}, headers=city, timeout=5)
        return {e["programme"]: e["amount_fen"] for e in got.json()["items"]} if got.status_code == 200 else {}

    assert wait_until(lambda: len(first()) == 2) and first() == {"compute": 636_000, "model_voucher": 159_000}
    assert demo.load(*urls) == ids and first() == {"compute": 636_000, "model_voucher": 159_000}


def test_the_demo_loader_finds_its_firms_beside_a_readme_case_of_the_same_name(stack: ServiceProcesses) -> None:
    """Trying the README opens a case under the demo's first firm name; the next `make run` still
    finds the demo's own case (the one with a firm) instead of registering again."""
    from opc_devstack import demo

    urls = (stack.url("registry"), stack.url("subsidy"), stack.url("compute_ledger"))
    ids = demo.load(*urls)
    district, community, land_use, name, _, lines = demo.DEMO[0]
    with httpx.Client(timeout=15) as http:
        client = RegistryClient(urls[0], district, http)
        community_id, workstations = client.community(community, land_use)
        readme_case = client.open_case(
            name=name,
            founder_name="李雷",
            community_id=community_id,
            workstation_id=workstations[-1],
            lines=lines,
            founder_sub="readme-founder",
            seed=77,
        )
        assert readme_case["firm_id"] is None
        cases = ok(http.get(f"{urls[0]}/v1/cases", params={"limit": 200}, headers=client.caseworker))["items"]
    newest = next(c["id"] for c in cases if c["proposed_name"] == name)
    assert newest == readme_case["id"]  # listed ahead of the demo's own case
    assert demo.load(*urls) == ids
