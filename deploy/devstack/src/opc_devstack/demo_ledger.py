"""The ledger's demo data, loaded through the public APIs (idempotent: a re-run adds nothing):
two vendors with price tables, usage for the demo firms, an invoice, a red-letter partial
reversal, and one community pool with two member firms, drawn down and settled."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import httpx

from opc_devstack.flows import Registered, RegistryClient, token
from opc_devstack.ledger_flows import LedgerClient, gpu, invoice, invoice_line, org_uscc, tokens

GPU_VENDOR = ("天府算力云科技有限公司", org_uscc("510100", "MA6DEM01"), "gpu_cloud")
MODEL_VENDOR = ("蓉城模型服务有限公司", org_uscc("510100", "MA6DEM02"), "model_api")
OPERATOR_USCC = org_uscc("510107", "MA6DEM03")


def _number(tag: int) -> str:
    return f"2651000000{tag:010d}"


def load(registry_url: str, ledger_url: str, firm_ids: list[str]) -> None:
    with httpx.Client(timeout=15) as http:
        ledger = LedgerClient(ledger_url, http)
        gpu_vendor = ledger.vendor(*GPU_VENDOR, key="demo-vendor-gpu")
        model_vendor = ledger.vendor(*MODEL_VENDOR, key="demo-vendor-model")
        ledger.price(
            gpu_vendor["id"], kind="gpu", resource="A800", effective_from="2026-01-01T00:00:00+08:00", fen_per_gpu_hour="1200"
        )
        ledger.price(
            model_vendor["id"],
            kind="tokens",
            resource="qwen-max",
            effective_from="2026-01-01T00:00:00+08:00",
            fen_per_m_input="240",
            fen_per_m_cached_input="60",
            fen_per_m_output="960",
        )
        city = token("*", "caseworker", sub="demo-ledger")
        firms = [http.get(f"{registry_url}/v1/firms/{fid}", headers=city).json() for fid in firm_ids[:2]]
        today = datetime.now(UTC)
        first = today.replace(day=1, hour=2, minute=0, second=0, microsecond=0)
        for firm in firms:
            ledger.wait_for_firm(firm["id"])
        a, b = firms
        g = [gpu(a["uscc"], f"demo-gpu-{i}", at=first + timedelta(hours=i), seconds=3600, amount=1200) for i in range(4)]
        t = [tokens(b["uscc"], f"demo-tok-{i}", at=first + timedelta(hours=i), amount=720) for i in range(3)]
        ledger.usage(gpu_vendor, g)
        ledger.usage(model_vendor, t)
        issued = date(first.year, first.month, 1).isoformat()
        ledger.invoice(
            gpu_vendor,
            invoice(_number(1), seller=GPU_VENDOR[1], buyer=a["uscc"], issued_on=issued, lines=[invoice_line(1, "compute", g)]),
        )
        ledger.invoice(
            model_vendor,
            invoice(_number(2), seller=MODEL_VENDOR[1], buyer=b["uscc"], issued_on=issued, lines=[invoice_line(1, "tokens", t)]),
        )
        red = {
            "number": _number(3),
            "reverses": _number(1),
            "issued_on": issued,
            "reason": "服务中断两小时，部分冲红",
            "lines": [{"line_no": 1, "amount_fen": 2264, "tax_fen": 136}],
        }
        got = ledger.send(gpu_vendor, "invoice.reversed", red)
        if got.status_code not in (200, 409):
            raise AssertionError(got.text)
        _pool(http, registry_url, ledger, gpu_vendor, first, issued)


def _pool(http: httpx.Client, registry_url: str, ledger: LedgerClient, vendor: dict, first: datetime, issued: str) -> None:
    """One pool: the demo community's operator buys 100 GPU-hours and shares them between two firms."""
    registry = RegistryClient(registry_url, "wuhou", http)
    body = {
        "name": "白云 AI 算力共享社区",
        "district": "wuhou",
        "kind": "industrial_park",
        "land_use": "office",
        "operator_name": "白云社区运营有限公司",
        "operator_uscc": OPERATOR_USCC,
    }
    community = http.post(
        f"{registry_url}/v1/communities", json=body, headers={**registry.admin, "Idempotency-Key": "demo-pool-community"}
    )
    community_id = community.json()["id"]
    members = [
        _member(http, registry, community_id, i, name, founder)
        for i, (name, founder) in enumerate((("白云智能体工作室", "陈晨"), ("白云三维设计工作室", "周舟")))
    ]
    for m in members:
        ledger.wait_for_firm(m.firm_id)
    ledger.invoice(
        vendor,
        invoice(
            _number(4),
            seller=vendor["uscc"],
            buyer=OPERATOR_USCC,
            issued_on=issued,
            lines=[{**invoice_line(1, "compute", [{"id": "-", "amount_fen": 100_000}]), "record_ids": []}],
        ),
    )
    time.sleep(0.5)  # the community event reached the ledger with the firms'
    pool = ledger._ok(
        http.post(
            f"{ledger.base}/v1/pools",
            json={
                "community_id": community_id,
                "vendor_id": vendor["id"],
                "kind": "gpu",
                "quantity": 360_000,
                "price_fen": 100_000,
                "invoice_number": _number(4),
            },
            headers={**token("wuhou", "admin", sub="demo-pool-admin"), "Idempotency-Key": "demo-pool"},
        )
    )
    admin = token("wuhou", "admin", sub="demo-pool-admin")
    for m in members:
        ledger._ok(
            http.put(f"{ledger.base}/v1/pools/{pool['id']}/allocations/{m.firm_id}", json={"quota": 180_000}, headers=admin)
        )
    ledger.usage(
        vendor,
        [
            gpu(m.uscc, f"demo-pool-{i}", at=first, seconds=36_000 * (i + 1), amount=10_000 * (i + 1), pool_id=pool["id"])
            for i, m in enumerate(members)
        ],
    )
    current = ledger._ok(http.get(f"{ledger.base}/v1/pools/{pool['id']}", headers=admin))
    if current["settled_units"] == 0:
        ledger._ok(http.post(f"{ledger.base}/v1/pools/{pool['id']}/settlements", json={}, headers=admin))


def _member(http: httpx.Client, registry: RegistryClient, community_id: str, i: int, name: str, founder: str) -> Registered:
    """The demo pool's member firm: found again on a re-run (its case exists), registered otherwise."""
    cases = http.get(f"{registry.base}/v1/cases", params={"limit": 200}, headers=registry.caseworker).json()["items"]
    for case in cases:
        if case["proposed_name"] == name:
            full = http.get(f"{registry.base}/v1/cases/{case['id']}", headers=registry.caseworker).json()
            if full["firm_id"]:
                firm = http.get(f"{registry.base}/v1/firms/{full['firm_id']}", headers=registry.caseworker).json()
                return Registered(case["id"], full["firm_id"], firm["uscc"])
    return registry.register_firm(
        name=name,
        founder_name=founder,
        community_id=community_id,
        founder_sub=f"demo-pool-{i}",
        seed=40 + i,
        key=f"demo-pool-case-{i}",
        lines=["agent_development"],
    )
