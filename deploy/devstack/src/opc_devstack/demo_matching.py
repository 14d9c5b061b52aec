"""Matching demo data, through the public API: the demo firms complete their supplier profiles, a
scenario owner posts three demands (the demand list, ranked candidates with their reasons); the
first is dispatched, accepted, delivered, nominated and selected as the year's scenario demo (which
the subsidy service turns into a `scenario_demo` award); the second gets a "1+N" roadshow; the third
allows teams (`GET /v1/demands/{id}/team`). Idempotent: each step is taken only from the state
before it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

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
    (
        ["digital_human_live", "marketing", "project_management"],
        "数字人主播长时间直播带货，抖音投流运营，擅长文创和农产品，可牵头统筹整合营销项目",
        4,
        15_000,
    ),
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
    {
        "title": "文创产品短剧与直播整合营销",
        "description": "为武侯区文创产品拍摄竖屏短剧并用数字人直播带货，需要剧本、剪辑、数字人直播和投流运营",
        "owner_name": "武侯区文创产业联盟",
        "sector": "culture",
        "capabilities": {"script_writing": 1, "video_editing": 1, "digital_human_live": 2, "marketing": 1},
        "budget_max_fen": 10_000_000,
        "location_district": "wuhou",
        "team_allowed": True,
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
        _engagement(http, matching_url, first["id"], firm_ids[0], district_of[0], owner)
        http.post(
            f"{matching_url}/v1/roadshows",
            json={
                "demand_id": posted[1]["id"],
                "title": "政务智能体 1+N 路演",
                "held_at": (datetime.now(UTC) + timedelta(days=7)).replace(hour=6, minute=0, second=0, microsecond=0).isoformat(),
                "n": 3,
            },
            headers={**token("wuhou", "admin", sub="demo-staff-wuhou"), "Idempotency-Key": "demo-roadshow-0"},
        )
    return len(posted)


def _engagement(http: httpx.Client, matching_url: str, demand_id: str, firm_id: str, district: str, owner: dict) -> None:
    """The dispatched demand, step by step from wherever an earlier run left it: the first demo firm
    accepts its offer, the owner starts and completes the work, nominates it, and the city selects it."""
    founder = token(district, "firm", sub=f"demo-founder-{firm_id[:8]}", firm_id=firm_id)
    url = f"{matching_url}/v1/demands/{demand_id}"
    demand = http.get(url, headers=owner)
    if demand.status_code != 200:
        return
    if demand.json()["status"] == "open":
        offers = http.get(f"{matching_url}/v1/suppliers/{firm_id}/offers", headers=founder).json().get("items", [])
        pending = [o for o in offers if o["demand_id"] == demand_id and o["status"] == "offered"]
        if not pending:
            return
        http.post(f"{matching_url}/v1/offers/{pending[0]['id']}/accept", headers=founder)
        demand = http.get(url, headers=owner)
    if demand.json()["status"] == "matched":
        demand = http.post(f"{url}/start", headers={**owner, "If-Match": demand.headers["ETag"]})
    if demand.json()["status"] == "in_progress":
        demand = http.post(
            f"{url}/complete",
            json={"actual_investment_fen": 3_200_000, "rating": 5},
            headers={**owner, "If-Match": demand.headers["ETag"]},
        )
    if demand.json()["status"] != "completed":
        return
    nomination = http.post(f"{url}/nominate", headers={**owner, "Idempotency-Key": "demo-nomination-0"})
    if nomination.status_code == 201:
        http.post(
            f"{matching_url}/v1/scenario-demos/selections",
            json={"year": nomination.json()["year"], "nomination_ids": [nomination.json()["id"]]},
            headers={**token("*", "admin", sub="demo-city-admin"), "Idempotency-Key": "demo-selection-0"},
        )
