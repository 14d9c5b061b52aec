"""A small demo data set loaded through the public API, so it exercises the real flow."""

from __future__ import annotations

import time

import httpx

from opc_devstack import demo_matching, demo_subsidy
from opc_devstack.flows import RegistryClient, token

DEMO = [
    ("wuhou", "1906 创意工厂 OPC 生态社区", "office", "成都光影短剧工作室有限公司", "李雷", ["ai_short_drama"]),
    ("wuhou", "1906 创意工厂 OPC 生态社区", "office", "成都数字人直播科技有限公司", "韩梅梅", ["digital_human_livestream"]),
    ("gaoxin", "天府 AI 原点社区", "office", "成都智能体开发有限公司", "王芳", ["agent_development"]),
    ("wenjiang", "温江青年社创实验室", "office", "温江跨境电商 AI 工作室", "赵强", ["ai_cross_border_ecommerce"]),
]
#: The Hi-tech Zone is a functional zone, not a county-level division: its community names the division it lies in.
DEMO_DIVISIONS = {"gaoxin": "510107"}


def load(registry_url: str, subsidy_url: str, ledger_url: str | None = None, matching_url: str | None = None) -> list[str]:
    """Idempotent: a second run finds the demo founders' cases and adds nothing."""
    firm_ids = []
    with httpx.Client(timeout=15) as http:
        for i, (district, community, land_use, name, founder, lines) in enumerate(DEMO):
            client = RegistryClient(registry_url, district, http)
            founder_sub = f"demo-founder-{i}"
            existing = http.get(f"{registry_url}/v1/cases", params={"limit": 200}, headers=client.caseworker).json()["items"]
            # The demo's own case is the one with its firm: someone trying the README may have opened
            # another case under the same name, which must not make the demo register again.
            found = None
            for listed in (c for c in existing if c["proposed_name"] == name):
                case = http.get(f"{registry_url}/v1/cases/{listed['id']}", headers=client.caseworker).json()
                if case["firm_id"]:
                    found = case["firm_id"]
                    break
            if found:
                firm_ids.append(found)
                continue
            community_id, _ = client.community(community, land_use, division_code=DEMO_DIVISIONS.get(district))
            firm_ids.append(
                client.register_firm(
                    name=name,
                    founder_name=founder,
                    community_id=community_id,
                    lines=lines,
                    founder_sub=founder_sub,
                    seed=i,
                    key=f"demo-case-{i}",
                ).firm_id
            )
        # Wait until the events have reached subsidy, so the demo shows the whole backbone working.
        city = token("*", "finance")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if all(http.get(f"{subsidy_url}/v1/accounts/{fid}", headers=city).status_code == 200 for fid in firm_ids):
                break
            time.sleep(0.2)
    if ledger_url:
        demo_subsidy.load(ledger_url, subsidy_url, firm_ids)
    if matching_url:
        demo_matching.load(matching_url, firm_ids, [d[0] for d in DEMO])
    return firm_ids
