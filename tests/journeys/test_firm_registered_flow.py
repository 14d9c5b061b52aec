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

from opc_devstack.flows import RegistryClient, document, id_number
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


def register(stack: ServiceProcesses, name: str, district: str = "wuhou") -> dict:
    """The real flow: community, case, submit, accept, name check, licence."""
    client = RegistryClient(stack.url("registry"), district)
    community_id, _ = client.community(f"{district} 旅程社区")
    registered = client.register_firm(name=name, founder_name="李雷", community_id=community_id)
    return {"id": registered.firm_id, "case_id": registered.case_id, "uscc": registered.uscc}


def wait_for(url: str, headers: dict, timeout: float = 15) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(url, headers=headers, timeout=5)
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.05)


def test_registered_firm_reaches_every_consuming_service(stack: ServiceProcesses) -> None:
    firm = register(stack, "成都光影短剧工作室")
    assert len(firm["uscc"]) == 18
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
    firm = register(stack, "武侯数字人直播")
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


def _case_body(community_id: str, workstation_id: str, name: str) -> dict:
    return {
        "founder": {"name": "李雷", "id_number": id_number(7), "phone": "13800138000", "is_graduate": False},
        "proposed_name": name,
        "business_lines": ["ai_music"],
        "community_id": community_id,
        "workstation_id": workstation_id,
        "documents": [document(c) for c in ("founder_id_copy", "articles_of_association", "address_proof")],
    }


def test_refused_requests_write_nothing(stack: ServiceProcesses, infra) -> None:
    client = RegistryClient(stack.url("registry"), "wuhou")
    community_id, ws = client.community("武侯 拒绝测试社区")
    before = asyncio.run(_count(infra, "registry", "SELECT count(*) FROM registry.cases"))
    outbox_before = asyncio.run(_count(infra, "registry", "SELECT count(*) FROM registry.outbox"))
    url = f"{stack.url('registry')}/v1/cases"
    body = _case_body(community_id, ws[0], "越权企业")
    assert httpx.post(url, json=body, headers=token("*", ("caseworker",)), timeout=5).status_code == 403
    assert httpx.post(url, json=body, headers=token("wuhou", ("finance",)), timeout=5).status_code == 403
    bad = httpx.post(url, json={**body, "proposed_name": "x" * 500, "founder": {"id_number": "123"}}, headers=token(), timeout=5)
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"proposed_name", "founder.id_number"}
    assert asyncio.run(_count(infra, "registry", "SELECT count(*) FROM registry.cases")) == before
    assert asyncio.run(_count(infra, "registry", "SELECT count(*) FROM registry.outbox")) == outbox_before


def test_idempotency_key_returns_the_first_response(stack: ServiceProcesses, infra) -> None:
    client = RegistryClient(stack.url("registry"), "wuhou")
    community_id, ws = client.community("武侯 幂等社区")
    url = f"{stack.url('registry')}/v1/cases"
    key = {"Idempotency-Key": f"journey-{uuid.uuid4()}"}
    body = _case_body(community_id, ws[0], "幂等企业")
    first = httpx.post(url, json=body, headers={**token(), **key}, timeout=10)
    again = httpx.post(url, json=body, headers={**token(), **key}, timeout=10)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    other_body = httpx.post(url, json={**body, "proposed_name": "另一个企业"}, headers={**token(), **key}, timeout=10)
    assert other_body.status_code == 422 and other_body.json()["code"] == "idempotency_key_reused"
    n = asyncio.run(_count(infra, "registry", "SELECT count(*) FROM registry.cases WHERE form->>'proposed_name' = '幂等企业'"))
    assert n == 1


def test_concurrent_requests_with_one_key_create_one_case(stack: ServiceProcesses, infra) -> None:
    client = RegistryClient(stack.url("registry"), "wuhou")
    community_id, ws = client.community("武侯 并发社区")
    key = f"race-{uuid.uuid4()}"
    name = f"并发企业{key[-6:]}"

    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=10) as http:
            headers = {**token(), "Idempotency-Key": key}
            body = _case_body(community_id, ws[0], name)
            return await asyncio.gather(
                *[http.post(f"{stack.url('registry')}/v1/cases", json=body, headers=headers) for _ in range(8)]
            )

    responses = asyncio.run(fire())
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert (
        asyncio.run(_count(infra, "registry", f"SELECT count(*) FROM registry.cases WHERE form->>'proposed_name' = '{name}'"))
        == 1
    )


def test_trace_context_travels_from_request_into_the_event(stack: ServiceProcesses, infra) -> None:
    client = RegistryClient(stack.url("registry"), "wuhou")
    community_id, ws = client.community("武侯 追踪社区")
    trace_id = uuid.uuid4().hex
    body = _case_body(community_id, ws[0], "追踪企业")
    case = httpx.post(f"{stack.url('registry')}/v1/cases", json=body, headers=token(), timeout=10).json()
    headers = {**token(), "If-Match": f'"{case["version"]}"', "traceparent": f"00-{trace_id}-{'1' * 16}-01"}
    httpx.post(f"{stack.url('registry')}/v1/cases/{case['id']}/submit", headers=headers, timeout=10).raise_for_status()
    query = f"SELECT headers->>'traceparent' FROM registry.outbox WHERE payload->'data'->>'case_id' = '{case['id']}'"
    traceparent = asyncio.run(_scalar(infra, "registry", query))
    assert traceparent.split("-")[1] == trace_id


def test_ops_endpoints(stack: ServiceProcesses) -> None:
    for svc in SERVICES:
        base = stack.url(svc.package)
        assert httpx.get(f"{base}/healthz", timeout=5).json() == {"status": "ok"}
        ready = httpx.get(f"{base}/readyz", timeout=5)
        # 200 and ready; a warning (the registry's calendar running out in late November) does not change that
        assert ready.status_code == 200 and ready.json()["status"] == "ready" and "reasons" not in ready.json()
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
