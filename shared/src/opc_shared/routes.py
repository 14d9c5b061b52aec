"""The API routes of an app, flattened (included routers resolved), for docs and tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts


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
