"""The subsidy app: ``uvicorn subsidy.main:create --factory`` or ``python -m subsidy serve``."""

from fastapi import FastAPI

from opc_shared.cli import serving_app
from opc_shared.service import ServiceSpec
from subsidy import scheduler
from subsidy.adapters.tables import metadata
from subsidy.api import budgets, claims, entitlements, payouts, policies, routes
from subsidy.consumers import HANDLERS
from subsidy.service.problems import PROBLEMS
from subsidy.settings import SubsidySettings

spec = ServiceSpec(
    package="subsidy",
    title="OPC One-Stop · Subsidy",
    description="Subsidy programmes, policy versions, entitlements, claims, budgets and payouts.",
    settings_cls=SubsidySettings,
    metadata=metadata,
    routers=[routes.router, entitlements.router, claims.router, budgets.router, payouts.router, policies.router],
    handlers=HANDLERS,
    jobs={"claim-review-sla": scheduler.run},
    problems=PROBLEMS,
)


def create() -> FastAPI:
    return serving_app(spec)
