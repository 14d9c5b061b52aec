"""Every service routes every request as FastAPI alone would (``skip_foreign_paths`` only answers sooner):
the same route, the same path parameters, the same 405 for a wrong method and 404 for no route, with and
without a root path, on all four apps."""

from __future__ import annotations

import re
from importlib import import_module

import pytest
from starlette.routing import Match

from opc_shared.routes import api_routes
from opc_shared.service import create_app

PACKAGES = ("registry", "subsidy", "matching", "compute_ledger")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def concrete(path: str) -> list[str]:
    """The route's path with sample values, and near misses (trailing slash, one more segment)."""
    filled = re.sub(r"\{[^}:]+(:[^}]+)?\}", "7b0c6a9e-4a51-4f0e-9d0b-2f6f8a1c3e55", path)
    return [filled, filled + "/", filled + "/nope", filled.rsplit("/", 1)[0] + "/x"]


def dispatch(app, method: str, path: str, root_path: str = "") -> list[tuple[int, Match, dict]]:
    """What each of the app's top-level routes says about the request, in order, as FastAPI asks them."""
    scope = {"type": "http", "method": method, "path": root_path + path, "root_path": root_path, "headers": []}
    out = []
    for i, route in enumerate(app.router.routes):
        match, child = route.matches(dict(scope))
        out.append((i, match, {k: v for k, v in child.items() if k == "path_params"}))
    return out


@pytest.mark.parametrize("package", PACKAGES)
def test_routing_is_unchanged_by_skipping_foreign_paths(package: str) -> None:
    spec = import_module(f"{package}.main").spec
    fast, plain = create_app(spec), create_app(spec)
    skipped = 0
    for route in plain.router.routes:
        if "matches" in vars(route):
            del route.matches  # FastAPI's own matching, for comparison
            skipped += 1
    assert skipped >= 2, "the app's routers are no longer prefiltered"
    paths = {p for r in api_routes(plain) for p in concrete(r.path)} | {"/", "", "/v1", "/v1/", "/healthz/", "/nope"}
    compared = 0
    for path in sorted(paths):
        for method in METHODS:
            for root in ("", "/opc"):
                assert dispatch(fast, method, path, root) == dispatch(plain, method, path, root), (method, root, path)
                compared += 1
    assert compared > 500


def test_a_foreign_path_is_refused_without_trying_the_routers_routes() -> None:
    app = create_app(import_module("registry.main").spec)
    tried: list[str] = []
    for r in api_routes(app):
        original = r.route.matches

        def spy(scope, original=original, path=r.path):
            tried.append(path)
            return original(scope)

        r.route.matches = spy
    dispatch(app, "GET", "/v1/districts")
    assert tried and all(p.startswith("/v1/districts") for p in tried), tried
