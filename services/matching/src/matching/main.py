"""The matching app: ``uvicorn matching.main:create --factory`` or ``python -m matching serve``."""

from fastapi import FastAPI

from matching.adapters.tables import metadata
from matching.api import routes
from matching.consumers import HANDLERS
from matching.settings import MatchingSettings
from opc_shared.service import ServiceSpec, create_app

spec = ServiceSpec(
    package="matching",
    title="OPC One-Stop · Matching",
    description="Demands, supplier profiles, matches, teams and dispatch offers.",
    settings_cls=MatchingSettings,
    metadata=metadata,
    routers=[routes.router],
    handlers=HANDLERS,
)


def create() -> FastAPI:
    return create_app(spec)
