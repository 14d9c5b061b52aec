import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from opc_shared import problems
from opc_shared.problems import Problem, pick_language


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        (None, "zh-CN"),
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("en;q=0.5, zh;q=0.9", "zh-CN"),
        ("fr-FR, en;q=0.3", "en"),
        ("fr", "zh-CN"),
        ("en;q=garbage", "zh-CN"),
    ],
)
def test_language_follows_accept_language(header: str | None, lang: str) -> None:
    assert pick_language(header) == lang


def test_unregistered_code_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unregistered"):
        Problem("no_such_code", 400)


def test_register_messages_needs_both_languages() -> None:
    with pytest.raises(ValueError, match="lacks text"):
        problems.register_messages({"half_done": {"en": ("t", "d")}})


class Body(BaseModel):
    name: str = Field(min_length=1)
    amount_fen: int


def _app() -> FastAPI:
    app = FastAPI()
    problems.install(app)

    @app.post("/things")
    async def create(body: Body) -> dict:
        return body.model_dump()

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    @app.get("/missing")
    async def missing() -> None:
        raise Problem("not_found", 404, params={"resource": {"en": "firm", "zh-CN": "企业"}, "id": "42"})

    return app


def test_validation_errors_name_each_field_in_both_languages() -> None:
    client = TestClient(_app())
    en = client.post("/things", json={"name": "", "amount_fen": 1.5}, headers={"Accept-Language": "en"})
    assert en.status_code == 422
    assert en.headers["content-type"] == "application/problem+json"
    body = en.json()
    assert body["code"] == "validation_error"
    assert {e["field"] for e in body["errors"]} == {"name", "amount_fen"}
    zh = client.post("/things", json={"amount_fen": 1}).json()
    assert zh["title"] == "请求内容有误"
    assert zh["errors"] == [{"field": "name", "in": "body", "type": "missing", "message": "必填"}]


def test_malformed_json_is_a_400_problem() -> None:
    response = TestClient(_app()).post("/things", content=b"{oops", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_body"


def test_unhandled_errors_never_leak_internals() -> None:
    response = TestClient(_app(), raise_server_exceptions=False).get("/boom")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert "passwd" not in response.text and "Traceback" not in response.text


def test_params_can_carry_their_own_translations() -> None:
    client = TestClient(_app())
    assert client.get("/missing", headers={"Accept-Language": "en"}).json()["detail"] == "No firm with id 42."
    assert client.get("/missing").json()["detail"] == "未找到编号为 42 的企业。"


def test_unknown_route_is_a_problem_too() -> None:
    response = TestClient(_app()).get("/nowhere")
    assert response.status_code == 404
    assert response.json()["code"] == "route_not_found"
