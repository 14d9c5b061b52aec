"""An in-process ledger with a clock the test controls, and a vendor that signs its calls."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from compute_ledger.main import spec
from opc_devstack.ledger_flows import envelope, invoice, invoice_line, invoice_number, new_uscc, sign
from opc_devstack.pytest_plugin import bearer
from opc_shared.clock import FixedClock
from opc_shared.consumer import EventApplier
from opc_shared.contracts import topics
from opc_shared.contracts.registry import CommunityRegisteredV1, FirmRegisteredV1
from opc_shared.events import build_event

ADMIN = bearer("*", ("admin",))


class Ledger:
    def __init__(self, client, clock: FixedClock) -> None:
        self.client, self.clock = client, clock
        self.db = client.app.state.db

    async def ok(self, response, status: int = 200) -> dict:
        assert response.status_code == status, (
            f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
        )
        return response.json()

    async def vendor(self, kind: str = "both") -> Vendor:
        body = {"name": f"算力商-{uuid.uuid4().hex[:6]}", "uscc": new_uscc(), "kind": kind}
        got = await self.ok(await self.client.post("/v1/vendors", json=body, headers=ADMIN), 201)
        return Vendor(self, got["id"], got["uscc"], got["webhook_secret"])

    async def apply(self, contract) -> None:
        event = build_event(
            event_type=contract.event_type, source="/opc/registry", subject=contract.subject, data=contract.payload()
        )
        applier = EventApplier(self.db, spec.handlers)
        decoded, data = applier.decode(event.to_bytes())
        await applier.apply(decoded, data, topics.REGISTRY)

    async def firm(self, uscc: str | None = None, district: str = "wuhou", community_id: uuid.UUID | None = None) -> dict:
        firm = FirmRegisteredV1(
            firm_id=uuid.uuid4(),
            name=f"测试企业{uuid.uuid4().hex[:4]}",
            district=district,
            founder_name="李雷",
            registered_at=self.clock.now(),
            uscc=uscc or new_uscc(),
            community_id=community_id,
        )
        await self.apply(firm)
        return {"firm_id": str(firm.firm_id), "uscc": firm.uscc, "district": district}

    async def community(self, district: str = "wuhou", city: str = "chengdu") -> dict:
        community = CommunityRegisteredV1(
            community_id=uuid.uuid4(),
            name=f"社区{uuid.uuid4().hex[:4]}",
            district=district,
            city=city,
            division_code="510107",
            kind="industrial_park",
            land_use="office",
            operator_name="运营方",
            operator_uscc=new_uscc(),
            registered_at=self.clock.now(),
        )
        await self.apply(community)
        return {"community_id": str(community.community_id), "operator_uscc": community.operator_uscc, "district": district}


class Vendor:
    def __init__(self, ledger: Ledger, vendor_id: str, uscc: str, secret: str) -> None:
        self.ledger, self.id, self.uscc, self.secret = ledger, vendor_id, uscc, secret

    def signed(self, type_: str, data: dict, *, secret: str | None = None, at: datetime | None = None, msg_id: str | None = None):
        body = envelope(type_, data, self.ledger.clock.now())
        headers = sign(body, msg_id or f"msg_{uuid.uuid4().hex}", at or self.ledger.clock.now(), secret or self.secret)
        return body, headers

    async def post(self, type_: str, data: dict, **kw):
        body, headers = self.signed(type_, data, **kw)
        return await self.ledger.client.post(f"/v1/webhooks/vendors/{self.id}", content=body, headers=headers)

    async def usage(self, records: list[dict], status: int = 200) -> dict:
        return await self.ledger.ok(await self.post("usage.reported", {"records": records}), status)

    async def pool_invoice(self, community: dict, cost_fen: int, kind: str = "gpu") -> str:
        """Bills the community's operator for a pool (a line with no usage records); its number."""
        number = invoice_number()
        category = "compute" if kind == "gpu" else "tokens"
        line = {**invoice_line(1, category, [{"id": "-", "amount_fen": cost_fen}]), "record_ids": []}
        bought = invoice(number, seller=self.uscc, buyer=community["operator_uscc"], issued_on="2026-11-02", lines=[line])
        assert (await self.ledger.ok(await self.post("invoice.issued", bought)))["status"] == "recorded"
        return number

    async def price(self, **body) -> dict:
        return await self.ledger.ok(await self.ledger.client.post(f"/v1/vendors/{self.id}/prices", json=body, headers=ADMIN), 201)


NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in Chengdu


@pytest.fixture
async def ledger(service_client):
    clock = FixedClock(NOW)
    async with service_client(spec) as client:
        client.app.state.clock = clock
        yield Ledger(client, clock)
