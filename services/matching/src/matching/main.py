"""The matching app: ``uvicorn matching.main:create --factory`` or ``python -m matching serve``."""

from fastapi import FastAPI

from matching.adapters.tables import metadata
from matching.api import demands, offers, showcase, suppliers
from matching.consumers import HANDLERS
from matching.service.dispatch import expiry_job
from matching.service.problems import PROBLEMS
from matching.settings import MatchingSettings
from opc_shared.service import ServiceSpec, create_app

spec = ServiceSpec(
    package="matching",
    title="OPC One-Stop · Matching",
    description="Demand and supply lists, ranked suppliers with reasons, teams, dispatch offers, roadshows and fair exposure.",
    settings_cls=MatchingSettings,
    metadata=metadata,
    routers=[suppliers.router, demands.router, offers.router, showcase.router],
    handlers=HANDLERS,
    jobs={"dispatch-expiry": expiry_job()},
    problems=PROBLEMS,
)


def create() -> FastAPI:
    return create_app(spec)
