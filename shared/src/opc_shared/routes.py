"""The API routes of an app, flattened (included routers resolved), for docs and tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Match
from starlette.types import Scope


@dataclass(frozen=True)
class ApiRoute:
    path: str
    methods: frozenset[str]
    dependant: Any
    route: APIRoute


def api_routes(app: FastAPI) -> Iterator[ApiRoute]:
    for ctx in iter_route_contexts(app.routes):
        if isinstance(ctx.original_route, APIRoute):
            yield ApiRoute(ctx.path, frozenset(ctx.methods or ()), ctx.dependant, ctx.original_route)


def skip_foreign_paths(app: FastAPI) -> None:
    """Let each included router answer "not mine" at once for a path none of its routes can match.

    FastAPI tries the app's included routers in order, and each one tries its routes in order (twice for
    the router that matches: once to find it, once to dispatch): a read of a route in the sixth router
    paid ~110 µs of matching before its handler ran, ~10 % of the read, where ``/healthz`` in the first
    paid ~9 µs. A route's regular expression only matches paths that start with its literal prefix (its
    path up to the first ``{``), so a router none of whose prefixes begins the path cannot match it, fully
    or partly (405), nor after a trailing-slash redirect: what it answers is unchanged, only sooner."""
    for route in app.router.routes:
        if not hasattr(route, "effective_route_contexts"):
            continue  # a plain route (the OpenAPI document, the docs pages): one regular expression
        prefixes = {ctx.path.split("{", 1)[0] for ctx in iter_route_contexts([route])}
        if not prefixes or "" in prefixes or "/" in prefixes:
            continue
        route.matches = _prefiltered(route.matches, tuple(sorted(prefixes)))


def _prefiltered(matches: Callable[[Scope], tuple[Match, Scope]], prefixes: tuple[str, ...]) -> Callable[..., Any]:
    def prefiltered(scope: Scope) -> tuple[Match, Scope]:
        path: str = scope["path"]
        root_path: str = scope.get("root_path", "")
        if root_path and path.startswith(root_path):  # the route path, as Starlette's get_route_path finds it
            if path == root_path:
                path = ""
            elif path[len(root_path)] == "/":
                path = path[len(root_path) :]
        if not path.startswith(prefixes):
            return Match.NONE, {}
        return matches(scope)

    return prefiltered
