"""The OpenAPI documents tell the truth (issue 6, item 14): every problem response is
``application/problem+json`` with the one Problem schema, where it can happen; every list is
``{items, next_cursor}`` with a bounded ``limit``."""

from __future__ import annotations

from importlib import import_module

import pytest

from opc_shared.service import create_app

PACKAGES = ("registry", "subsidy", "matching", "compute_ledger")


@pytest.fixture(params=PACKAGES, scope="module")
def doc(request) -> dict:
    return create_app(import_module(f"{request.param}.main").spec).openapi()


def operations(doc: dict):
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            yield path, method.upper(), op


def params(op: dict, where: str) -> dict[str, dict]:
    return {p["name"]: p for p in op.get("parameters", []) if p["in"] == where}


def test_no_fastapi_validation_schema(doc: dict) -> None:
    schemas = doc["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert {"Problem", "FieldProblem"} <= set(schemas)
    assert "HTTPValidationError" not in str(doc)


def test_every_error_response_is_a_problem(doc: dict) -> None:
    for path, method, op in operations(doc):
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")) and path != "/readyz":
                assert response["content"] == {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                }, (
                    method,
                    path,
                    status,
                )


def test_problem_responses_are_listed_where_they_can_happen(doc: dict) -> None:
    for path, method, op in operations(doc):
        statuses = set(op["responses"])
        if path.startswith("/v1/webhooks/"):
            continue  # signed by the vendor, not a bearer token
        if path.startswith("/v1/") and op.get("security"):
            assert {"401", "403"} <= statuses, (method, path)
        if params(op, "path"):
            assert "404" in statuses, (method, path)
        if "If-Match" in params(op, "header"):
            assert params(op, "header")["If-Match"]["required"], (method, path)
            assert {"412", "428"} <= statuses, (method, path)
        if "requestBody" in op:
            assert {"400", "415", "422"} <= statuses, (method, path)
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            assert "409" in statuses, (method, path)


def test_every_list_is_a_bounded_page(doc: dict) -> None:
    for path, method, op in operations(doc):
        if method != "GET":
            continue
        schema = op["responses"]["200"].get("content", {}).get("application/json", {}).get("schema", {})
        assert schema.get("type") != "array", f"GET {path} answers a bare array: answer {{items, next_cursor}}"
        name = schema.get("$ref", "").rsplit("/", 1)[-1]
        model = doc["components"]["schemas"].get(name, {})
        limit = params(op, "query").get("limit")
        if name.startswith("PageOut") or limit is not None:
            assert {"items", "next_cursor"} <= set(model.get("properties", {})), f"GET {path}: not a page"
            assert limit is not None, f"GET {path} pages without a limit"
            assert limit["schema"].get("maximum") is not None, f"GET {path}: limit has no maximum"
