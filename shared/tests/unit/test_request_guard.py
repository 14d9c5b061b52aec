"""Bad input is a 4xx problem that says what is wrong; a 500 keeps the connection (issue 6, items 10–11)."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from typing import Annotated

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Query
from pydantic import BaseModel

from opc_shared import problems
from opc_shared.observability import RequestContextMiddleware


class Founder(BaseModel):
    name: str


class Form(BaseModel):
    proposed_name: str | None = None
    founder: Founder | None = None
    lines: list[str] = []


def make_app() -> FastAPI:
    app = FastAPI()
    problems.install(app)
    app.add_middleware(RequestContextMiddleware, service="test")

    @app.post("/v1/cases")
    async def create(body: Form) -> dict:
        return {"ok": True, "name": body.proposed_name}

    @app.post("/v1/cases/{case_id}/submit")
    async def submit(case_id: str) -> dict:
        return {"ok": case_id}

    @app.get("/v1/cases")
    async def list_cases(status: Annotated[str | None, Query(max_length=32)] = None) -> dict:
        return {"status": status}

    @app.get("/v1/boom")
    async def boom() -> dict:
        raise RuntimeError("a bug")

    return app


@pytest.fixture
async def client():
    transport = httpx.ASGITransport(app=make_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def _problem(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code, body
    return body


async def test_nul_in_a_json_string_names_the_field(client) -> None:
    raw = '{"proposed_name": "成都\\u0000测试", "founder": {"name": "李\\u0000雷"}, "lines": ["ok", "\\u0000"]}'
    body = _problem(
        await client.post("/v1/cases", content=raw, headers={"content-type": "application/json"}), 422, "validation_error"
    )
    assert {(e["field"], e["in"]) for e in body["errors"]} == {
        ("proposed_name", "body"),
        ("founder.name", "body"),
        ("lines.1", "body"),
    }


async def test_lone_surrogate_is_refused_but_a_pair_is_text(client) -> None:
    lone = '{"proposed_name": "\\ud800x"}'
    body = _problem(
        await client.post("/v1/cases", content=lone, headers={"content-type": "application/json"}), 422, "validation_error"
    )
    assert body["errors"][0]["field"] == "proposed_name"
    pair = '{"proposed_name": "\\ud83d\\ude00 \\\\u0000 is only text"}'
    ok = await client.post("/v1/cases", content=pair, headers={"content-type": "application/json"})
    assert ok.status_code == 200 and ok.json()["name"] == "😀 \\u0000 is only text"


async def test_nul_in_a_query_parameter_or_path_names_it(client) -> None:
    body = _problem(await client.get("/v1/cases?status=%00"), 422, "validation_error")
    assert body["errors"][0]["field"] == "status" and body["errors"][0]["in"] == "query"
    _problem(await client.post("/v1/cases/a%00b/submit"), 422, "validation_error")
    assert (await client.get("/v1/cases?status=open")).json() == {"status": "open"}


async def test_non_json_content_type_is_415(client) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        _problem(
            await client.post("/v1/cases", content=b'{"proposed_name": "x"}', headers={"content-type": content_type}),
            415,
            "unsupported_media_type",
        )
    bare = httpx.Request("POST", "http://testserver/v1/cases", content=b'{"proposed_name": "x"}')
    _problem(await client.send(bare), 415, "unsupported_media_type")
    # No body, no media type needed (actions such as submit).
    assert (await client.post("/v1/cases/c1/submit")).status_code == 200
    vendor = await client.post(
        "/v1/cases", content=b'{"proposed_name": "x"}', headers={"content-type": "application/vnd.opc+json"}
    )
    assert vendor.status_code == 200


async def test_undecodable_and_malformed_bodies_are_malformed_body(client) -> None:
    gbk = json.dumps({"proposed_name": "成都测试"}, ensure_ascii=False).encode("gbk")
    body = _problem(
        await client.post("/v1/cases", content=gbk, headers={"content-type": "application/json; charset=gbk"}),
        400,
        "malformed_body",
    )
    assert "UTF-8" in body["detail"]
    deep = ("[" * 50_000 + "]" * 50_000).encode()
    _problem(await client.post("/v1/cases", content=deep, headers={"content-type": "application/json"}), 400, "malformed_body")
    nested = ('{"founder": ' * 50_000 + "1" + "}" * 50_000).encode()
    _problem(await client.post("/v1/cases", content=nested, headers={"content-type": "application/json"}), 400, "malformed_body")
    broken = _problem(
        await client.post("/v1/cases", content=b'{"proposed_name": ', headers={"content-type": "application/json"}),
        400,
        "malformed_body",
    )
    assert "{reason}" not in broken["detail"]


async def test_a_bug_is_a_500_problem_without_a_trace(client) -> None:
    body = _problem(await client.get("/v1/boom"), 500, "internal_error")
    assert "a bug" not in json.dumps(body) and body["request_id"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_500_keeps_the_keep_alive_connection() -> None:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(make_app(), host="127.0.0.1", port=port, log_level="critical", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/v1/boom")
        first = conn.getresponse()
        assert first.status == 500 and json.loads(first.read())["code"] == "internal_error"
        assert first.getheader("connection", "").lower() != "close"
        sock = conn.sock
        conn.request("GET", "/v1/cases?status=open")
        second = conn.getresponse()
        assert second.status == 200 and json.loads(second.read()) == {"status": "open"}
        assert conn.sock is sock, "the server closed the connection after the 500"
        conn.close()
    finally:
        server.should_exit = True
        thread.join(10)
