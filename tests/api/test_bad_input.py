"""Bad input on every route of every service is a 4xx problem naming the field (issue 6, items 10–11).

The routes are read from each app, so a route added later is covered without touching this file.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from importlib import import_module
from typing import Any, get_args

import pytest
from sqlalchemy import text

from opc_devstack.pytest_plugin import bearer
from opc_shared.routes import ApiRoute, api_routes

PACKAGES = ("registry", "subsidy", "matching", "compute_ledger")
FORGED_CURSOR = base64.urlsafe_b64encode(json.dumps(["2026-11-22T00:00:00+00:00", "nope"]).encode()).decode().rstrip("=")
STAFF = bearer(district="*", roles=("admin", "caseworker", "reviewer", "finance"), sub="hardening-test")


def _walk(dependant: Any):
    yield dependant
    for sub in dependant.dependencies:
        yield from _walk(sub)


def query_params(route: ApiRoute) -> dict[str, Any]:
    return {f.alias: f.field_info.annotation for d in _walk(route.dependant) for f in d.query_params}


def is_date(ann: Any) -> bool:
    """date, datetime, or either inside Optional/Annotated."""
    if isinstance(ann, type):
        return issubclass(ann, dt.date)
    return any(is_date(arg) for arg in get_args(ann))


def has_body(route: ApiRoute) -> bool:
    return any(d.body_params for d in _walk(route.dependant))


def concrete(route: ApiRoute) -> str:
    """The route's path with every path parameter filled (a fresh UUID, or a plausible word)."""
    path = route.path
    for d in _walk(route.dependant):
        for f in d.path_params:
            kinds = (f.field_info.annotation, *get_args(f.field_info.annotation))
            value = str(uuid.uuid4()) if uuid.UUID in kinds else ("2026" if int in kinds else "name_check")
            path = path.replace("{" + f.alias + "}", value)
    return path


def required_query(route: ApiRoute) -> dict[str, str]:
    out = {}
    for d in _walk(route.dependant):
        for f in d.query_params:
            if f.field_info.is_required():
                ann = f.field_info.annotation
                out[f.alias] = "2026-11-01" if ann is dt.date else ("2026-11" if ann is str else "2026")
    return out


@pytest.fixture(params=PACKAGES)
async def service(request, service_client):
    spec = import_module(f"{request.param}.main").spec
    async with service_client(spec) as client:
        yield client


def _is_problem(response, status: int | None = None) -> dict:
    assert response.headers.get("content-type") == "application/problem+json", response.text
    if status is not None:
        assert response.status_code == status, (response.request.url, response.status_code, response.text)
    return response.json()


async def test_nul_in_any_query_parameter_is_422_naming_it(service) -> None:
    checked = 0
    for route in api_routes(service.app):
        if "GET" not in route.methods:
            continue
        for name in query_params(route):
            params = {**required_query(route), name: "\x00"}
            body = _is_problem(await service.get(concrete(route), params=params, headers=STAFF), 422)
            assert [(e["field"], e["in"]) for e in body["errors"]] == [(name, "query")]
            checked += 1
    assert checked > 0


async def test_bodies_must_be_utf8_json_without_nul(service) -> None:
    body_routes = [r for r in api_routes(service.app) if has_body(r)]
    for route in body_routes:
        method = sorted(route.methods)[0]
        url = concrete(route)
        headers = {**STAFF, "If-Match": '"1"'}
        nul = await service.request(
            method, url, content='{"name": "成都\\u0000测试"}', headers={**headers, "content-type": "application/json"}
        )
        assert [e["field"] for e in _is_problem(nul, 422)["errors"]] == ["name"]
        wrong_type = await service.request(
            method, url, content=b'{"name": "x"}', headers={**headers, "content-type": "text/plain"}
        )
        assert _is_problem(wrong_type, 415)["code"] == "unsupported_media_type"
        gbk = json.dumps({"name": "成都测试"}, ensure_ascii=False).encode("gbk")
        undecodable = await service.request(
            method, url, content=gbk, headers={**headers, "content-type": "application/json; charset=gbk"}
        )
        assert _is_problem(undecodable, 400)["code"] == "malformed_body"
        deep = await service.request(
            method, url, content=b"[" * 50_000 + b"]" * 50_000, headers={**headers, "content-type": "application/json"}
        )
        assert deep.status_code in (400, 404, 422, 428), deep.text  # never 500; 400 malformed_body where the body is read
        assert _is_problem(deep)["code"] != "conflict"


async def test_extreme_dates_are_4xx(service) -> None:
    for route in api_routes(service.app):
        if "GET" not in route.methods:
            continue
        dates = [n for n, ann in query_params(route).items() if is_date(ann)]
        for name in dates:
            for extreme in ("0001-01-01", "9999-12-31"):
                response = await service.get(concrete(route), params={**required_query(route), name: extreme}, headers=STAFF)
                assert 400 <= response.status_code < 500, (route.path, name, extreme, response.text)
                assert name in {e["field"] for e in _is_problem(response)["errors"]}


async def test_registry_figures_with_extreme_dates(service_client) -> None:
    from registry.main import spec

    async with service_client(spec) as client:
        response = await client.get("/v1/figures?from=0001-01-01&to=9999-12-31", headers=STAFF)
        body = _is_problem(response, 422)
        assert {e["field"] for e in body["errors"]} == {"from", "to"}
        fine = await client.get("/v1/figures?from=2026-11-01&to=2026-11-30", headers=STAFF)
        assert fine.status_code == 200


async def test_nul_in_a_case_form_is_422_and_writes_nothing(service_client, infra) -> None:
    from registry.main import spec

    async with service_client(spec) as client:
        founder = bearer(district="wuhou", roles=("firm",), sub=f"founder-{uuid.uuid4().hex[:6]}")

        async def cases() -> int:
            async with client.app.state.db.engine.connect() as conn:
                return (await conn.execute(text("SELECT count(*) FROM registry.cases"))).scalar_one()

        before = await cases()
        response = await client.post("/v1/cases", json={"proposed_name": "成都\u0000测试公司"}, headers=founder)
        body = _is_problem(response, 422)
        assert body["errors"][0]["field"] == "proposed_name"
        assert await cases() == before


async def test_a_forged_cursor_is_422_on_every_list(service) -> None:
    lists = [r for r in api_routes(service.app) if "GET" in r.methods and "cursor" in query_params(r)]
    for route in lists:
        response = await service.get(concrete(route), params={**required_query(route), "cursor": FORGED_CURSOR}, headers=STAFF)
        if response.status_code == 404 and "{" in route.path:
            continue  # the parent does not exist; nothing was paged
        body = _is_problem(response, 422)
        assert [e["field"] for e in body["errors"]] == ["cursor"], body
