"""The matching journey through the real processes, over HTTP and events only: a firm registered at the
registry opens a supplier profile at matching (firm.registered), the firm completes it, a scenario owner
posts a demand, sees it ranked with reasons, dispatches it, the firm accepts, the engagement is completed
and nominated, the city selects it, and the subsidy service turns the selection event into a
``scenario_demo`` entitlement of 30 % of the actual investment."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from opc_devstack.flows import RegistryClient
from opc_devstack.infra import SERVICES, free_port
from opc_devstack.services import ServiceProcesses
from opc_shared.auth import mint_token
from opc_shared.clock import SHANGHAI
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


def ok(response: httpx.Response, status: int = 200):
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()


def wait_for(fetch, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        response = fetch()
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def test_registered_firm_is_matched_dispatched_completed_selected_and_subsidised(stack: ServiceProcesses) -> None:
    registry, matching, subsidy = stack.url("registry"), stack.url("matching"), stack.url("subsidy")
    client = RegistryClient(registry, "wuhou")
    community_id, _ = client.community(f"武侯 撮合旅程社区 {uuid.uuid4().hex[:4]}")
    tag = uuid.uuid4().hex[:6]
    firm = client.register_firm(
        name=f"成都蜀绣动画{tag}工作室有限公司", founder_name="李雷", community_id=community_id, lines=["ai_short_drama"]
    )
    founder = token("wuhou", "firm", sub=f"founder-{tag}", firm_id=firm.firm_id)
    owner = token("wuhou", "scenario_owner", sub=f"owner-{tag}")
    with httpx.Client(timeout=20) as http:
        # firm.registered reached matching: the profile exists, capabilities guessed from the business line
        profile = wait_for(lambda: http.get(f"{matching}/v1/suppliers/{firm.firm_id}", headers=founder))
        assert ok(profile)["capabilities"] == ["filming", "script_writing", "video_editing"]
        body = {
            "capabilities": ["script_writing", "animation", "ai_painting"],
            "description": f"蜀绣非遗科普动画{tag}：故事脚本、AI 辅助分镜与二维动画",
            "capacity": 2,
            "price_min_fen": 1_500_000,
            "price_max_fen": 6_000_000,
        }
        ok(
            http.put(
                f"{matching}/v1/suppliers/{firm.firm_id}/profile",
                json=body,
                headers={**founder, "If-Match": profile.headers["ETag"]},
            )
        )
        demand = ok(
            http.post(
                f"{matching}/v1/demands",
                json={
                    "title": f"蜀绣科普动画{tag}",
                    "description": f"蜀绣非遗科普动画{tag}，需要故事脚本和二维动画，可用 AI 辅助绘制分镜",
                    "owner_name": "成都蜀绣博物馆",
                    "sector": "culture",
                    "capabilities": {"script_writing": 2, "animation": 2, "ai_painting": 1},
                    "budget_max_fen": 5_000_000,
                    "location_district": "wuhou",
                },
                headers={**owner, "Idempotency-Key": f"journey-{tag}"},
            ),
            201,
        )
        ranked = ok(http.get(f"{matching}/v1/demands/{demand['id']}/candidates?limit=5", headers=owner))
        top = ranked["items"][0]
        assert top["firm_id"] == firm.firm_id
        assert (
            top["explanation"]["zh-CN"].startswith("覆盖所需能力 3/3：剧本、动画、AI 绘画；")
            and "同在武侯区" in top["explanation"]["zh-CN"]
        )
        offers = ok(
            http.post(
                f"{matching}/v1/demands/{demand['id']}/dispatch",
                json={"fan_out": 1, "timeout_s": 600},
                headers={**owner, "If-Match": '"2"'},
            )
        )
        assert [o["firm_id"] for o in offers] == [firm.firm_id]
        ok(http.post(f"{matching}/v1/offers/{offers[0]['id']}/accept", headers=founder))
        current = ok(http.get(f"{matching}/v1/demands/{demand['id']}", headers=owner))
        assert current["status"] == "matched"
        v = current["version"]
        ok(http.post(f"{matching}/v1/demands/{demand['id']}/start", headers={**owner, "If-Match": f'"{v}"'}))
        ok(
            http.post(
                f"{matching}/v1/demands/{demand['id']}/complete",
                json={"actual_investment_fen": 3_200_000, "rating": 5},
                headers={**owner, "If-Match": f'"{v + 1}"'},
            )
        )
        nomination = ok(http.post(f"{matching}/v1/demands/{demand['id']}/nominate", headers=owner), 201)
        year = datetime.now(UTC).astimezone(SHANGHAI).year
        assert nomination["year"] == year
        selected = ok(
            http.post(
                f"{matching}/v1/scenario-demos/selections",
                json={"year": year, "nomination_ids": [nomination["id"]]},
                headers=token("*", "admin", sub="city-admin"),
            ),
            201,
        )
        assert selected[0]["firm_id"] == firm.firm_id
        kinds = [e["kind"] for e in ok(http.get(f"{matching}/v1/demands/{demand['id']}/timeline", headers=owner))["items"]]
        assert kinds == ["created", "offer_made", "offer_accepted", "started", "completed", "nominated", "selected"]
        # the selection event crossed to subsidy: 30 % of 32,000 yuan = 9,600 yuan
        city = token("*", "finance")
        deadline = time.monotonic() + 30
        entitlement = None
        while time.monotonic() < deadline and entitlement is None:
            listed = http.get(f"{subsidy}/v1/firms/{firm.firm_id}/entitlements", params={"year": year}, headers=city)
            if listed.status_code == 200:
                items = listed.json()["items"] if isinstance(listed.json(), dict) else listed.json()
                entitlement = next((e for e in items if e["programme"] == "scenario_demo"), None)
            time.sleep(0.2)
        assert entitlement is not None, "scenario_demo entitlement never appeared at subsidy"
        assert entitlement["amount_fen"] == 960_000
        assert entitlement["explanation"]["zh-CN"]
