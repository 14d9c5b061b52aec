"""Journey through the real processes (as `make run` starts them): a firm registered at the
registry over REST becomes a subsidy account, a supplier profile and a ledger account,
each readable through its own service's API with district scoping enforced."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator

import asyncpg
import httpx
import pytest

from opc_devstack.infra import SERVICES, free_port
from opc_devstack.services import ServiceProcesses
from opc_shared.auth import mint_token
from opc_shared.db import asyncpg_dsn
from opc_shared.settings import DEFAULT_JWT_SECRET

READ_PATHS = {"subsidy": "/v1/accounts", "matching": "/v1/suppliers", "compute_ledger": "/v1/firm-accounts"}


@pytest.fixture(scope="module")
def stack(infra) -> Iterator[ServiceProcesses]:
    procs = ServiceProcesses(infra.env(), ports={svc.package: free_port() for svc in SERVICES})
    procs.start(timeout=90)
    try:
        yield procs
    finally:
        procs.stop()


def token(
    district: str = "wuhou", roles: tuple[str, ...] = ("caseworker",), sub: str | None = None, firm_id: str | None = None
) -> dict:
    secret = os.environ.get("OPC_JWT_SECRET", DEFAULT_JWT_SECRET)
    jwt = mint_token(secret, sub=sub or f"user-{district}", district=district, roles=list(roles), firm_id=firm_id)
    return {"Authorization": f"Bearer {jwt}"}


def register(stack: ServiceProcesses, name: str, district: str = "wuhou", headers: dict | None = None, **extra) -> httpx.Response:
    body = {"name": name, "district": district, "community": "1906 Creative Factory", "founder_name": "李雷", **extra}
    return httpx.post(f"{stack.url('registry')}/v1/firms", json=body, headers={**token(district), **(headers or {})}, timeout=10)


def wait_for(url: str, headers: dict, timeout: float = 15) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(url, headers=headers, timeout=5)
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.05)


def test_registered_firm_reaches_every_consuming_service(stack: ServiceProcesses) -> None:
    created = register(stack, "成都光影短剧工作室")
    assert created.status_code == 201, created.text
    firm = created.json()
    started = time.monotonic()
    for package, path in READ_PATHS.items():
        got = wait_for(f"{stack.url(package)}{path}/{firm['id']}", token())
        assert got.status_code == 200, f"{package}: {got.text}"
        assert got.json()["firm_name"] == "成都光影短剧工作室"
        assert got.json()["district"] == "wuhou"
    assert time.monotonic() - started < 15
    listed = httpx.get(f"{stack.url('subsidy')}/v1/accounts", headers=token(), timeout=5).json()
    assert firm["id"] in {item["firm_id"] for item in listed["items"]}


def test_other_districts_and_other_firms_see_nothing(stack: ServiceProcesses) -> None:
    firm = register(stack, "武侯数字人直播").json()
    wait_for(f"{stack.url('subsidy')}/v1/accounts/{firm['id']}", token())
    for package, path in READ_PATHS.items():
        url = f"{stack.url(package)}{path}/{firm['id']}"
        assert httpx.get(url, headers=token("gaoxin"), timeout=5).status_code == 404
        assert httpx.get(url, headers=token("gaoxin", ("firm",), firm_id=str(uuid.uuid4())), timeout=5).status_code == 404
        assert httpx.get(url, headers=token("wuhou", ("firm",), firm_id=firm["id"]), timeout=5).status_code == 200
        assert httpx.get(url, timeout=5).status_code == 401
    gaoxin_list = httpx.get(f"{stack.url('matching')}/v1/suppliers", headers=token("gaoxin"), timeout=5).json()
    assert firm["id"] not in {i["firm_id"] for i in gaoxin_list["items"]}
    assert (
        httpx.get(f"{stack.url('matching')}/v1/suppliers?district=wuhou", headers=token("gaoxin"), timeout=5).status_code == 403
    )
    assert httpx.get(f"{stack.url('registry')}/v1/firms/{firm['id']}", headers=token("gaoxin"), timeout=5).status_code == 404


def test_registering_in_another_district_is_refused_and_writes_nothing(stack: ServiceProcesses, infra) -> None:
    before = asyncio.run(_count(infra, "registry", "SELECT count(*) FROM registry.firms"))
    outbox_before = asyncio.run(_count(infra, "registry", "SELECT count(*) FROM registry.outbox"))
    body = {"name": "越权企业", "district": "gaoxin", "founder_name": "某"}
    refused = httpx.post(f"{stack.url('registry')}/v1/firms", json=body, headers=token("wuhou"), timeout=5)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    bad = httpx.post(
        f"{stack.url('registry')}/v1/firms", json={"name": "x" * 500, "district": "wuhou"}, headers=token(), timeout=5
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"name", "founder_name"}
    wrong_role = httpx.post(
        f"{stack.url('registry')}/v1/firms", json=body | {"district": "wuhou"}, headers=token(roles=("finance",)), timeout=5
    )
    assert wrong_role.status_code == 403
    assert asyncio.run(_count(infra, "registry", "SELECT count(*) FROM registry.firms")) == before
    assert asyncio.run(_count(infra, "registry", "SELECT count(*) FROM registry.outbox")) == outbox_before


def test_idempotency_key_returns_the_first_response(stack: ServiceProcesses, infra) -> None:
    key = {"Idempotency-Key": f"journey-{uuid.uuid4()}"}
    first = register(stack, "幂等企业", headers=key)
    again = register(stack, "幂等企业", headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    other_body = register(stack, "另一个企业", headers=key)
    assert other_body.status_code == 422 and other_body.json()["code"] == "idempotency_key_reused"
    n = asyncio.run(_count(infra, "registry", "SELECT count(*) FROM registry.firms WHERE name = '幂等企业'"))
    assert n == 1


def test_concurrent_requests_with_one_key_create_one_firm(stack: ServiceProcesses, infra) -> None:
    key = f"race-{uuid.uuid4()}"
    name = f"并发企业-{key[-6:]}"

    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=10) as client:
            body = {"name": name, "district": "wuhou", "founder_name": "李雷"}
            headers = {**token(), "Idempotency-Key": key}
            return await asyncio.gather(
                *[client.post(f"{stack.url('registry')}/v1/firms", json=body, headers=headers) for _ in range(8)]
            )

    responses = asyncio.run(fire())
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert asyncio.run(_count(infra, "registry", f"SELECT count(*) FROM registry.firms WHERE name = '{name}'")) == 1


def test_trace_context_travels_from_request_into_the_event(stack: ServiceProcesses, infra) -> None:
    trace_id = uuid.uuid4().hex
    firm = register(stack, "追踪企业", headers={"traceparent": f"00-{trace_id}-{'1' * 16}-01"}).json()
    query = f"SELECT headers->>'traceparent' FROM registry.outbox WHERE key = '{firm['id']}'"
    traceparent = asyncio.run(_scalar(infra, "registry", query))
    assert traceparent.split("-")[1] == trace_id


def test_ops_endpoints(stack: ServiceProcesses) -> None:
    for svc in SERVICES:
        base = stack.url(svc.package)
        assert httpx.get(f"{base}/healthz", timeout=5).json() == {"status": "ok"}
        assert httpx.get(f"{base}/readyz", timeout=5).json() == {"status": "ready"}
        assert httpx.get(f"{base}/openapi.json", timeout=5).json()["info"]["title"].startswith("OPC One-Stop")
        assert httpx.get(f"{base}/docs", timeout=5).status_code == 200
        metrics = httpx.get(f"{base}/metrics", timeout=5).text
        assert "opc_http_requests_total" in metrics and "opc_outbox_relay_active" in metrics


async def _scalar(infra, package: str, sql: str):
    conn = await asyncpg.connect(asyncpg_dsn(infra.urls[package]))
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def _count(infra, package: str, sql: str) -> int:
    return int(await _scalar(infra, package, sql))
