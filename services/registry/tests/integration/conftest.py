"""An in-process registry with a clock the test controls, and helpers that drive it like a portal."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from opc_devstack.flows import BASE_MATERIALS, document, id_number, token
from opc_shared.clock import FixedClock
from registry.main import spec


class Portal:
    def __init__(self, client, clock: FixedClock, district: str) -> None:
        self.client, self.clock, self.district = client, clock, district
        self.admin = token(district, "admin")
        self.caseworker = token(district, "caseworker", sub=f"cw-{district}")
        self.reviewer = token(district, "reviewer", sub=f"rv-{district}")

    async def ok(self, response, status: int = 200) -> dict:
        assert response.status_code == status, (
            f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
        )
        return response.json()

    async def community(self, land_use: str = "office", n: int = 2) -> tuple[str, list[str]]:
        body = {"name": f"社区-{uuid.uuid4().hex[:6]}", "district": self.district, "kind": "incubator", "land_use": land_use}
        community = await self.ok(await self.client.post("/v1/communities", json=body, headers=self.admin), 201)
        ws = await self.ok(
            await self.client.post(
                f"/v1/communities/{community['id']}/workstations", json=[{"code": f"W{i}"} for i in range(n)], headers=self.admin
            ),
            201,
        )
        return community["id"], [w["id"] for w in ws]

    def founder(self, sub: str) -> dict:
        return token(self.district, "firm", sub=sub)

    def form(self, community_id: str, workstation_id: str, lines: list[str], *, documents: bool = True, seed: int = 1) -> dict:
        form = {
            "founder": {"name": "李雷", "id_number": id_number(seed), "phone": "13800138000", "is_graduate": False},
            "proposed_name": f"成都测试{uuid.uuid4().hex[:4]}科技有限公司",
            "business_lines": lines,
            "community_id": community_id,
            "workstation_id": workstation_id,
        }
        if documents:
            form["documents"] = [document(c) for c in BASE_MATERIALS]
        return form

    async def act(self, case: dict, path: str, body: dict | None = None, who: dict | None = None, status: int = 200) -> dict:
        headers = {**(who or self.caseworker), "If-Match": f'"{case["version"]}"'}
        return await self.ok(await self.client.post(f"/v1/cases/{case['id']}/{path}", json=body or {}, headers=headers), status)

    async def submitted_case(
        self, *, land_use: str = "office", lines: list[str] | None = None, documents: bool = True
    ) -> tuple[dict, dict]:
        community_id, ws = await self.community(land_use)
        founder = self.founder(f"founder-{uuid.uuid4().hex[:8]}")
        draft = await self.ok(
            await self.client.post(
                "/v1/cases",
                json=self.form(community_id, ws[0], lines or ["agent_development"], documents=documents),
                headers=founder,
            ),
            201,
        )
        return await self.act(draft, "submit", who=founder), founder


CITY_ADMIN = token("*", "admin")


async def register_district(client, code: str, *, city: str = "chengdu", division_code: str | None = "510107") -> dict:
    """Each test works in its own catalogue district, so tests never see each other's records."""
    body = {"name_zh": f"测试区 {code}", "name_en": f"Test district {code}", "city": city, "division_code": division_code}
    if division_code is None:
        body["member_divisions"] = ["510116", "510112"]
    response = await client.put(f"/v1/districts/{code}", json=body, headers=CITY_ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
async def portal(service_client):
    clock = FixedClock(datetime(2026, 9, 28, 2, 0, tzinfo=UTC))  # Monday 10:00 in Chengdu, before National Day
    async with service_client(spec) as client:
        client.app.state.clock = clock
        district = f"d{uuid.uuid4().hex[:6]}"
        await register_district(client, district)
        yield Portal(client, clock, district)
