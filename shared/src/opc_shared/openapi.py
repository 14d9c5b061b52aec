"""An OpenAPI document that tells the truth about errors, so a portal can generate its client from it.

FastAPI documents a 422 with its own validation schema in ``application/json`` and nothing else.
Every service answers errors as RFC 9457 ``application/problem+json`` (see :mod:`opc_shared.problems`),
so each operation here lists the problem responses it can give, all with the one ``Problem`` schema:
401/403 where it authenticates, 404 where a path names something, 409 where it changes state,
412/428 where it takes ``If-Match``, 400/413/415 where it reads a body, 422 where it takes input.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from opc_shared.auth import authenticate
from opc_shared.concurrency import requires_if_match
from opc_shared.routes import ApiRoute, api_routes

PROBLEM_JSON = "application/problem+json"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `code` is stable and machine-readable, `title`/`detail` follow Accept-Language.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "description": "urn:opc:problem:<code>"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string", "description": "the request path"},
        "code": {"type": "string", "description": "what went wrong, e.g. validation_error, version_mismatch"},
        "request_id": {"type": "string", "description": "identifies the request in the service's logs"},
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldProblem"}},
    },
}
FIELD_PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "FieldProblem",
    "description": "One field a request got wrong.",
    "type": "object",
    "required": ["field", "in", "type", "message"],
    "properties": {
        "field": {"type": "string", "description": "dotted path of the field, e.g. founder.id_number"},
        "in": {"type": "string", "description": "body, query, path or header"},
        "type": {"type": "string", "description": "machine type of the error, e.g. missing, string_too_long"},
        "message": {"type": "string"},
    },
}

DESCRIPTIONS = {
    400: "malformed_body: the body is not UTF-8 JSON, or is nested too deeply",
    401: "unauthenticated: no valid credentials",
    403: "forbidden: your role, district or firm does not allow this",
    404: "not_found: nothing you may see under that id (in the path, or referred to by the body)",
    409: "a refusal by the rules (the code says which), or a conflict with the current state",
    412: "version_mismatch: If-Match names a version that is no longer current",
    413: "payload_too_large: the body exceeds the limit",
    415: "unsupported_media_type: send the body as application/json",
    422: "validation_error (each field named in errors) or another refusal of the input",
    428: "precondition_required: send If-Match with the version you last read",
}


def _walk(dependant: Any):
    yield dependant
    for sub in getattr(dependant, "dependencies", ()):
        yield from _walk(sub)


def authenticates(route: ApiRoute) -> bool:
    return any(getattr(d, "call", None) is authenticate for d in _walk(route.dependant))


def problem_statuses(route: ApiRoute, method: str) -> set[int]:
    """The problem responses an operation can give, from what it depends on."""
    deps = list(_walk(route.dependant))
    statuses: set[int] = set()
    has_body = any(d.body_params for d in deps)
    has_input = has_body or any(d.query_params or d.path_params or d.header_params for d in deps)
    if authenticates(route):
        statuses |= {401, 403, 409}  # 409: any use case may refuse by its rules (the code says which)
    if any(d.path_params for d in deps):
        statuses.add(404)
    if method in WRITES:
        statuses |= {404, 409, 422}  # 404: a record the body refers to does not exist, or is not yours
    if has_body:
        statuses |= {400, 413, 415, 422}
    if has_input:
        statuses.add(422)
    if requires_if_match(route.dependant):
        statuses |= {412, 428}
    return statuses


def _problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    return {
        "description": description or DESCRIPTIONS.get(status, "problem"),
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def build_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes, tags=app.openapi_tags)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["FieldProblem"] = FIELD_PROBLEM_SCHEMA
    doc["components"].setdefault("securitySchemes", {})["bearer"] = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "claims: sub, district, roles, firm_id (firm users)",
    }
    for route in api_routes(app):
        if not route.route.include_in_schema:
            continue
        for method in route.methods - {"HEAD", "OPTIONS"}:
            operation = doc["paths"].get(route.path, {}).get(method.lower())
            if operation is None:
                continue
            if authenticates(route):
                operation["security"] = [{"bearer": []}]
            responses = operation.setdefault("responses", {})
            for status in problem_statuses(route, method):
                responses[str(status)] = _problem_response(status)
            for status, response in list(responses.items()):
                if status[:1] in ("4", "5") and status != "503":
                    # declared by the route itself (e.g. a webhook's 401): same schema, its own words
                    known = int(status) if status.isdigit() else None
                    responses[status] = _problem_response(known or 0, response.get("description"))
            operation["responses"] = dict(sorted(responses.items()))
    app.openapi_schema = doc
    return doc


def install(app: FastAPI) -> None:
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
