"""The compute ledger app: ``uvicorn compute_ledger.main:create --factory`` or ``python -m compute_ledger serve``."""

import gc

from fastapi import FastAPI

from compute_ledger import jobs
from compute_ledger.adapters.tables import metadata
from compute_ledger.api import firm_accounts, firms, ops, periods, pools, vendors, webhooks
from compute_ledger.consumers import HANDLERS
from compute_ledger.service.problems import PROBLEMS
from compute_ledger.settings import ComputeLedgerSettings
from opc_shared.cli import freeze_startup_heap
from opc_shared.service import ServiceSpec, create_app

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

#: A young-generation collection after this many more container objects were allocated than freed
#: (CPython's default is 700).
YOUNG_GC_THRESHOLD = 50_000


def tune_gc() -> None:
    """A ``usage.reported`` batch allocates ~10 container objects per record (the parsed body, records,
    rows, outcomes) that all die with the request. With the default threshold the cyclic collector
    ran ~10 times per 1,000-record batch, promoting the batch's live objects and walking them again
    in older generations: 7-10 ms of CPU per batch, a quarter of the ingest's Python time. Raised,
    a batch's objects are freed by reference counting before a collection sees them; cyclic garbage
    still is collected, just every 50,000 net allocations."""
    gc.set_threshold(YOUNG_GC_THRESHOLD, *gc.get_threshold()[1:])


def create() -> FastAPI:
    tune_gc()
    app = create_app(spec)
    freeze_startup_heap()  # as ``python -m compute_ledger serve`` does
    return app
