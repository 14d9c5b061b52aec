"""An in-process matching service fed registry events through the real inbox, with a clock the
test controls, and helpers that drive it as owners, firms and staff would."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from matching.main import spec
from opc_devstack.pytest_plugin import bearer
from opc_shared.clock import FixedClock
from opc_shared.consumer import EventApplier
from opc_shared.contracts.base import EventContract
from opc_shared.contracts.registry import FirmRegisteredV1, FirmStatusChangedV1
from opc_shared.events import build_event

START = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
TABLES = "selection_years, nominations, roadshows, exposures, demand_timeline, offers, demands, supplier_profiles, communities"


class Desk:
    """Drives one app: feeds registry events, completes profiles, posts demands."""

    def __init__(self, client, clock: FixedClock) -> None:
        self.client, self.clock = client, clock
        self.applier = EventApplier(client.app.state.db, spec.handlers)
        self.owner = bearer("wuhou", ("scenario_owner",), sub="owner-wuhou")
        self.staff = bearer("wuhou", ("caseworker",))
        self.admin = bearer("wuhou", ("admin",), sub="admin-wuhou")
        self.city_admin = bearer("*", ("admin",), sub="admin-city")

    async def ok(self, response, status: int = 200):
        assert response.status_code == status, (
            f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
        )
        return response.json() if response.headers.get("content-type", "").startswith("application/json") else response.text

    async def send(self, contract: EventContract) -> str:
        event = build_event(
            event_type=contract.event_type, source="/opc/registry", subject=contract.subject, data=contract.payload()
        )
        decoded, data = self.applier.decode(event.to_bytes())
        return (await self.applier.apply(decoded, data, contract.topic)).status

    @staticmethod
    def firm_token(firm_id: uuid.UUID, district: str = "wuhou") -> dict:
        return bearer(district, ("firm",), firm_id=str(firm_id), sub=f"founder-{firm_id.hex[:8]}")

    async def supplier(
        self,
        name: str,
        district: str,
        capabilities: list[str],
        description: str,
        *,
        capacity: int = 2,
        price_min_fen: int | None = 1_000_000,
        business_lines: list[str] | None = None,
    ) -> uuid.UUID:
        firm_id = uuid.uuid4()
        await self.send(
            FirmRegisteredV1(
                firm_id=firm_id,
                name=name,
                district=district,
                founder_name="李雷",
                registered_at=self.clock.now(),
                business_lines=business_lines or [],
            )
        )
        token = self.firm_token(firm_id, district)
        got = await self.client.get(f"/v1/suppliers/{firm_id}", headers=token)
        await self.ok(got)
        body = {
            "capabilities": capabilities,
            "description": description,
            "capacity": capacity,
            "price_min_fen": price_min_fen,
            "price_max_fen": None if price_min_fen is None else price_min_fen * 3,
            "portfolio_links": ["https://example.com/work"],
        }
        await self.ok(
            await self.client.put(
                f"/v1/suppliers/{firm_id}/profile", json=body, headers={**token, "If-Match": got.headers["ETag"]}
            )
        )
        return firm_id

    async def suspend(self, firm_id: uuid.UUID, district: str = "wuhou") -> None:
        await self.send(
            FirmStatusChangedV1(
                firm_id=firm_id,
                district=district,
                status="suspended",
                previous_status="operating",
                effective_date=self.clock.now().date(),
            )
        )

    async def demand(self, **overrides) -> dict:
        body = {
            "title": "武侯祠文旅短视频",
            "description": "为武侯祠景区拍摄三集竖屏短剧，需要剧本创作、配音和剪辑",
            "owner_name": "武侯文旅集团",
            "sector": "culture",
            "capabilities": {"script_writing": 2, "voice": 1, "video_editing": 1},
            "budget_min_fen": 1_000_000,
            "budget_max_fen": 5_000_000,
            "location_district": "wuhou",
            **overrides,
        }
        return await self.ok(await self.client.post("/v1/demands", json=body, headers=self.owner), 201)

    async def outbox(self, event_type: str) -> list[dict]:
        async with self.client.app.state.db.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT payload FROM matching.outbox WHERE event_type = :t ORDER BY id"), {"t": event_type}
            )
            return [r[0]["data"] for r in rows]


@pytest.fixture
async def clean(service_client):
    async with service_client(spec) as client, client.app.state.db.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {', '.join('matching.' + t.strip() for t in TABLES.split(','))} CASCADE"))
        await conn.execute(text("DELETE FROM matching.outbox"))
    return True


@pytest.fixture
async def desk(service_client, clean):
    clock = FixedClock(START)
    async with service_client(spec) as client:
        client.app.state.clock = clock
        yield Desk(client, clock)
