"""The compute ledger app: ``uvicorn compute_ledger.main:create --factory`` or ``python -m compute_ledger serve``."""

from fastapi import FastAPI

from compute_ledger import jobs
from compute_ledger.adapters.tables import metadata
from compute_ledger.api import firm_accounts, firms, ops, periods, pools, vendors, webhooks
from compute_ledger.consumers import HANDLERS
from compute_ledger.service.problems import PROBLEMS
from compute_ledger.settings import ComputeLedgerSettings
from opc_shared.cli import serving_app
from opc_shared.service import ServiceSpec

spec = ServiceSpec(
    package="compute_ledger",
    title="OPC One-Stop · Compute ledger",
    description="Vendors, usage, price tables, invoices, pools, quotas and periods for compute and tokens.",
    settings_cls=ComputeLedgerSettings,
    metadata=metadata,
    routers=[firm_accounts.router, firms.router, vendors.router, webhooks.router, pools.router, periods.router, ops.router],
    handlers=HANDLERS,
    problems=PROBLEMS,
    jobs={"ledger-jobs": jobs.run},
)


def create() -> FastAPI:
    return serving_app(spec)
