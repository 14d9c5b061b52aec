"""The shared request plumbing against the real PostgreSQL of the test session: the request's
unit of work commits on success (the aggregate's events land in the outbox in the same
transaction) and rolls everything back on a refusal; pagination, scoping and If-Match answer
the same problems every service will.

The probe app lives in the subsidy schema (its role owns it) with a table of its own,
created and dropped here, so no service code is involved."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, ClassVar

import pytest
from fastapi import APIRouter, Query
from pydantic import BaseModel
from pydantic_settings import SettingsConfigDict
from sqlalchemy import Column, DateTime, MetaData, String, Table, delete, func, insert, select, text, update

from opc_devstack.pytest_plugin import bearer
from opc_shared.aggregate import Aggregate
from opc_shared.auth import CurrentPrincipal
from opc_shared.concurrency import IfMatch, check_version, with_etag
from opc_shared.contracts import FirmRegisteredV1
from opc_shared.contracts.base import EventContract
from opc_shared.errors import DomainError, ProblemTable
from opc_shared.pagination import Keyset, PageDep, PageOut
from opc_shared.scoping import Scope, readable
from opc_shared.service import ServiceSpec, UowDep
from opc_shared.settings import ServiceSettings

metadata = MetaData(schema="subsidy")
probe = Table(
    "probe_items",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("district", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("version", String(8), nullable=False),
)
KEYSET = Keyset(probe.c.created_at, probe.c.id, id_type=lambda s: str(uuid.UUID(s)))
SCOPE = Scope(district=probe.c.district)


class ProbeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="OPC_SUBSIDY_", extra="ignore")
    service_name: ClassVar[str] = "subsidy"
    db_schema: ClassVar[str] = "subsidy"


@dataclass
class Item(Aggregate):
    id: str
    district: str
    events: list[EventContract] = field(default_factory=list)

    def open(self, at: datetime) -> None:
        self.record(
            FirmRegisteredV1(firm_id=uuid.UUID(self.id), name="probe", district=self.district, founder_name="p", registered_at=at)
        )


class ItemOut(BaseModel):
    id: str
    district: str
    created_at: datetime


router = APIRouter(prefix="/probe")


@router.post("", status_code=201)
async def create(uow: UowDep, principal: CurrentPrincipal, refuse: Annotated[str | None, Query()] = None) -> dict:
    item = uow.track(Item(str(uuid.uuid4()), principal.district))
    now = datetime.now(UTC)
    await uow.session.execute(insert(probe).values(id=item.id, district=item.district, created_at=now, version="1"))
    item.open(now)
    if refuse:
        raise DomainError(refuse, {"id": item.id})  # after the write: it must not survive
    return {"id": item.id}


@router.get("", response_model=PageOut[ItemOut])
async def list_items(uow: UowDep, principal: CurrentPrincipal, page: PageDep, district: str | None = None) -> PageOut[ItemOut]:
    query = KEYSET.apply(readable(select(probe), principal, SCOPE, district=district), page)
    return PageOut.of(KEYSET.page((await uow.session.execute(query)).mappings().all(), page), ItemOut)


@router.post("/{item_id}/touch")
async def touch(item_id: str, version: IfMatch, uow: UowDep):
    row = (await uow.session.execute(select(probe).where(probe.c.id == item_id).with_for_update())).mappings().one()
    check_version(int(row["version"]), version)
    new = int(row["version"]) + 1
    await uow.session.execute(update(probe).where(probe.c.id == item_id).values(version=str(new)))
    return with_etag(ItemOut.model_validate(row), new)


PROBLEMS = ProblemTable({"probe_refused": (409, ("Refused", "Item {id} refused."), ("拒绝", "条目 {id} 被拒绝。"))})
SPEC = ServiceSpec(
    package="probe",
    title="probe",
    description="probe",
    settings_cls=ProbeSettings,
    metadata=metadata,
    routers=[router],
    problems=PROBLEMS,
)


@pytest.fixture
async def client(service_client):
    async with service_client(SPEC) as client:
        db = client.app.state.db
        async with db.engine.begin() as conn:
            await conn.run_sync(lambda c: probe.create(c, checkfirst=True))
        try:
            yield client
        finally:
            async with db.engine.begin() as conn:
                await conn.execute(text("DROP TABLE subsidy.probe_items"))
                await conn.execute(
                    delete(db.platform.outbox).where(db.platform.outbox.c.payload["data"]["name"].astext == "probe")
                )


async def _counts(client) -> tuple[int, int]:
    db = client.app.state.db
    async with db.engine.connect() as conn:
        items = (await conn.execute(select(func.count()).select_from(probe))).scalar_one()
        out = db.platform.outbox
        events = (
            await conn.execute(select(func.count()).select_from(out).where(out.c.payload["data"]["name"].astext == "probe"))
        ).scalar_one()
    return items, events


async def test_success_commits_the_row_and_its_events_in_one_transaction(client) -> None:
    response = await client.post("/v1/probe", headers=bearer("wuhou"))
    assert response.status_code == 201, response.text
    assert await _counts(client) == (1, 1)


async def test_a_refusal_rolls_back_the_write_and_the_events(client) -> None:
    refused = await client.post("/v1/probe", params={"refuse": "probe_refused"}, headers=bearer("wuhou"))
    assert refused.status_code == 409 and refused.json()["code"] == "probe_refused"
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert await _counts(client) == (0, 0)


async def test_an_unregistered_code_is_a_500_under_test(client) -> None:
    response = await client.post("/v1/probe", params={"refuse": "nobody_registered_me"}, headers=bearer("wuhou"))
    assert response.status_code == 500 and response.json()["code"] == "internal_error"
    assert await _counts(client) == (0, 0)


async def test_an_unregistered_code_is_a_plain_refusal_at_run_time(client) -> None:
    client.app.state.settings = client.app.state.settings.model_copy(update={"environment": "production"})
    response = await client.post("/v1/probe", params={"refuse": "nobody_registered_me"}, headers=bearer("wuhou"))
    assert response.status_code == 409 and response.json()["code"] == "nobody_registered_me"


async def test_pages_walk_every_row_once_and_forged_cursors_are_422(client) -> None:
    db = client.app.state.db
    base = datetime(2026, 11, 1, tzinfo=UTC)
    rows = [
        {
            "id": str(uuid.uuid4()),
            "district": "wuhou" if i % 3 else "jinjiang",
            "created_at": base + timedelta(minutes=i // 2),
            "version": "1",
        }
        for i in range(11)
    ]
    async with db.engine.begin() as conn:
        await conn.execute(insert(probe), rows)
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/probe", params=params, headers=bearer("wuhou"))).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    wuhou = sorted((r for r in rows if r["district"] == "wuhou"), key=lambda r: (r["created_at"], r["id"]), reverse=True)
    assert seen == [r["id"] for r in wuhou]  # ties on created_at broken by id, nothing twice, nothing lost
    forged = base64.urlsafe_b64encode(json.dumps(["2026-11-22T00:00:00+00:00", "nope"]).encode()).decode()
    for bad in (forged, "x" * 501, "%00"):
        response = await client.get("/v1/probe", params={"cursor": bad}, headers=bearer("wuhou"))
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["errors"][0]["field"] == "cursor"
    assert (await client.get("/v1/probe", params={"limit": 201}, headers=bearer("wuhou"))).status_code == 422
    assert (await client.get("/v1/probe", params={"district": "jinjiang"}, headers=bearer("wuhou"))).status_code == 403
    city = (await client.get("/v1/probe", params={"district": "jinjiang", "limit": 200}, headers=bearer("*"))).json()
    assert {i["district"] for i in city["items"]} == {"jinjiang"}


async def test_if_match_is_required_and_checked(client) -> None:
    created = (await client.post("/v1/probe", headers=bearer("wuhou"))).json()
    url = f"/v1/probe/{created['id']}/touch"
    missing = await client.post(url, headers=bearer("wuhou"))
    assert missing.status_code == 428 and missing.json()["code"] == "precondition_required"
    malformed = await client.post(url, headers={**bearer("wuhou"), "If-Match": '"one"'})
    assert malformed.status_code == 422 and malformed.json()["errors"][0]["field"] == "If-Match"
    ok = await client.post(url, headers={**bearer("wuhou"), "If-Match": '"1"'})
    assert ok.status_code == 200 and ok.headers["ETag"] == '"2"'
    stale = await client.post(url, headers={**bearer("wuhou"), "If-Match": '"1"'})
    assert stale.status_code == 412 and stale.json()["code"] == "version_mismatch"
