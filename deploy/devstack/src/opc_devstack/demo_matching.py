"""Matching demo data, through the public API: the demo firms complete their supplier profiles, a
scenario owner posts two demands (the demand list), and one of them is dispatched."""

from __future__ import annotations

import time

import httpx

from opc_devstack.flows import token

#: Per demo firm (in demo.DEMO order): capabilities, description, capacity, starting price in yuan.
PROFILES = [
    (
        ["script_writing", "filming", "video_editing"],
        "竖屏短剧与文旅宣传片，从剧本创作到拍摄剪辑一条龙，服务过武侯祠周边景区",
        3,
        20_000,
    ),
    (["digital_human_live", "marketing"], "数字人主播长时间直播带货，抖音投流运营，擅长文创和农产品", 4, 15_000),
    (
        ["agent_development", "software_development"],
        "政务与企业大模型智能体、知识库问答和 RAG 检索增强应用，支持私有化部署",
        2,
        80_000,
    ),
    (
        ["cross_border_ecommerce", "translation", "marketing"],
        "亚马逊、TikTok Shop 店铺代运营，多语种商品文案翻译与海外推广",
        2,
        30_000,
    ),
]
DEMANDS = [
    {
        "title": "武侯祠文旅短视频",
        "description": "为武侯祠景区拍摄三集竖屏短剧，需要剧本创作、拍摄与剪辑，展现三国文化",
        "owner_name": "武侯文旅集团",
        "sector": "culture",
        "capabilities": {"script_writing": 2, "filming": 1, "video_editing": 1},
        "budget_max_fen": 5_000_000,
        "location_district": "wuhou",
    },
    {
        "title": "政务服务政策问答智能体",
        "description": "区政务服务中心需要政策问答智能体，接入办事指南知识库，支持私有化部署",
        "owner_name": "武侯区政务服务中心",
        "sector": "government_services",
        "capabilities": {"agent_development": 3, "software_development": 1},
        "budget_max_fen": 12_000_000,
    },
]


def load(matching_url: str, firm_ids: list[str], district_of: list[str]) -> int:
    """Idempotent: profiles are rewritten to the same content, demands posted under Idempotency-Keys."""
    owner = token("wuhou", "scenario_owner", sub="demo-owner-wuhou")
    with httpx.Client(timeout=15) as http:
        for firm_id, district, (caps, text, capacity, price) in zip(firm_ids, district_of, PROFILES, strict=False):
            founder = token(district, "firm", sub=f"demo-founder-{firm_id[:8]}", firm_id=firm_id)
            deadline = time.monotonic() + 15
            while (got := http.get(f"{matching_url}/v1/suppliers/{firm_id}", headers=founder)).status_code == 404:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"firm {firm_id} never reached matching")
                time.sleep(0.2)
            body = {"capabilities": caps, "description": text, "capacity": capacity, "price_min_fen": price * 100}
            http.put(
                f"{matching_url}/v1/suppliers/{firm_id}/profile", json=body, headers={**founder, "If-Match": got.headers["ETag"]}
            )
        posted = []
        for i, demand in enumerate(DEMANDS):
            answer = http.post(
                f"{matching_url}/v1/demands", json=demand, headers={**owner, "Idempotency-Key": f"demo-demand-{i}"}
            )
            posted.append(answer.json())
        first = posted[0]
        if first.get("status") == "open" and first.get("dispatch_round") == 0:
            current = http.get(f"{matching_url}/v1/demands/{first['id']}", headers=owner)
            if current.status_code == 200 and current.json()["dispatch_round"] == 0:
                http.post(
                    f"{matching_url}/v1/demands/{first['id']}/dispatch",
                    json={"fan_out": 2, "timeout_s": 3600},
                    headers={**owner, "If-Match": current.headers["ETag"]},
                )
    return len(posted)
