"""The registry's app: ``uvicorn registry.main:create --factory`` or ``python -m registry serve``."""

from fastapi import FastAPI

from opc_shared.cli import serving_app
from opc_shared.service import ServiceSpec
from registry import calendar_watch, scheduler
from registry.adapters.tables import metadata
from registry.api import cases, districts, firms, notices, places
from registry.service.problems import PROBLEMS
from registry.settings import RegistrySettings

spec = ServiceSpec(
    package="registry",
    title="OPC One-Stop · Registry",
    description="Communities, registration cases (the 3-day licence workflow) and the firm register.",
    settings_cls=RegistrySettings,
    metadata=metadata,
    routers=[cases.router, cases.figures_router, notices.router, places.router, districts.router, firms.router],
    jobs={"sla-escalation": scheduler.run, "calendar-horizon": calendar_watch.run},
    problems=PROBLEMS,
    readiness_warnings=calendar_watch.readiness_warnings,
)


def create() -> FastAPI:
    return serving_app(spec)
