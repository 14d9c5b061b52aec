"""The matching app: ``uvicorn matching.main:create --factory`` or ``python -m matching serve``."""

import numpy  # noqa: F401  (loads the BLAS that threadpool_limits below sets)
from fastapi import FastAPI
from threadpoolctl import threadpool_limits

from matching.adapters.tables import metadata
from matching.api import demands, offers, showcase, suppliers
from matching.consumers import HANDLERS
from matching.service.dispatch import expiry_job
from matching.service.problems import PROBLEMS
from matching.settings import MatchingSettings
from opc_shared.cli import serving_app
from opc_shared.service import ServiceSpec

#: numpy's BLAS on one thread for the whole process (``serve``, workers, tests: all import this).
#: Matching's products (``score_blocks``, ``top_candidates``) are many and small; on a busy 2-core
#: machine OpenBLAS's second thread cost 1.5-1.9x their CPU time, and wall time too (README, Matching).
threadpool_limits(1, user_api="blas")

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
    return serving_app(spec)
