"""A small demo data set loaded through the public API, so it exercises the real flow."""

from __future__ import annotations

import os
import time

import httpx

from opc_shared.auth import mint_token
from opc_shared.settings import DEFAULT_JWT_SECRET

DEMO_FIRMS = [
    ("wuhou", "1906 Creative Factory", "成都光影短剧工作室", "李雷"),
    ("wuhou", "1906 Creative Factory", "成都数字人直播科技", "韩梅梅"),
    ("gaoxin", "Tianfu AI Origin Community", "成都智能体开发有限公司", "王芳"),
    ("wenjiang", "Wenjiang University OPC Hub", "温江跨境电商AI工作室", "赵强"),
]


def load(registry_url: str, subsidy_url: str) -> list[str]:
    secret = os.environ.get("OPC_JWT_SECRET", DEFAULT_JWT_SECRET)
    firm_ids = []
    for i, (district, community, name, founder) in enumerate(DEMO_FIRMS):
        token = mint_token(secret, sub=f"demo-caseworker-{district}", district=district, roles=["caseworker"])
        response = httpx.post(
            f"{registry_url}/v1/firms",
            json={"name": name, "district": district, "community": community, "founder_name": founder},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"demo-firm-{i}"},
            timeout=10,
        )
        response.raise_for_status()
        firm_ids.append(response.json()["id"])
    # Wait until the events have reached subsidy, so the demo shows the whole backbone working.
    token = mint_token(secret, sub="demo-city", district="*", roles=["finance"])
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        seen = [
            httpx.get(f"{subsidy_url}/v1/accounts/{fid}", headers={"Authorization": f"Bearer {token}"}, timeout=5).status_code
            for fid in firm_ids
        ]
        if all(code == 200 for code in seen):
            break
        time.sleep(0.2)
    return firm_ids
