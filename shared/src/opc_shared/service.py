"""Builds one service's FastAPI app and background workers from its :class:`ServiceSpec`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

import structlog
from aiokafka import AIOKafkaClient
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import MetaData

from opc_shared import openapi, problems
from opc_shared.clock import Clock, SystemClock
from opc_shared.consumer import ConsumerRunner, Handler
from opc_shared.contracts.base import EventContract
from opc_shared.db import Database, Work
from opc_shared.errors import ProblemTable
from opc_shared.observability import RequestContextMiddleware, configure_logging
from opc_shared.relay import OutboxRelay
from opc_shared.routes import skip_foreign_paths
from opc_shared.settings import ServiceSettings

log = structlog.get_logger("opc.service")


Job = Callable[[Database, asyncio.Event, Clock], Awaitable[None]]


@dataclass
class ServiceSpec:
    """Everything the platform needs to know about one service."""

    package: str
    title: str
    description: str
    settings_cls: type[ServiceSettings]
    metadata: MetaData
    routers: list[APIRouter] = field(default_factory=list)
    handlers: Mapping[type[EventContract], Handler] = field(default_factory=dict)
    #: Periodic jobs of the service (e.g. SLA escalation), run beside the relay:
    #: ``job(db, stop, clock)``; the clock is the app's, so a test's FixedClock drives jobs too.
    jobs: Mapping[str, Job] = field(default_factory=dict)
    #: The service's problem codes: status and text of every DomainError it raises.
    problems: ProblemTable = field(default_factory=ProblemTable)
    #: Conditions worth an operator's attention that do not make the service unready (e.g. the
    #: registry's calendar running out): ``/readyz`` stays 200 and lists them under ``warnings``.
    readiness_warnings: Callable[[Database, Clock], Awaitable[dict[str, str]]] | None = None
    version: str = "0.1.0"


class BrokerProbe:
    """Answers "is the broker reachable" for /readyz without needing the relay in this process."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self._client: AIOKafkaClient | None = None

    async def check(self, timeout: float = 2.0) -> None:
        if self._client is None:
            client = AIOKafkaClient(bootstrap_servers=self.settings.kafka_servers, request_timeout_ms=int(timeout * 1000))
            try:
                await asyncio.wait_for(client.bootstrap(), timeout)
            except BaseException:
                with contextlib.suppress(Exception):
                    await client.close()
                raise
            self._client = client
            return
        await asyncio.wait_for(self._client.fetch_all_metadata(), timeout)

    async def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.close()


class Workers:
    """The relay and the consumer, run as tasks in whichever process ops choose."""

    def __init__(self, spec: ServiceSpec, db: Database, *, relay: bool, consumers: bool, clock: Clock | None = None) -> None:
        self.stop = asyncio.Event()
        self.clock: Clock = clock or SystemClock()
        self.relay = OutboxRelay(db.settings) if relay else None
        topics = tuple(db.settings.consumes)
        self.consumer = ConsumerRunner(db, spec.handlers, topics) if consumers and spec.handlers and topics else None
        self.jobs = {name: job for name, job in spec.jobs.items()} if relay and db.settings.run_jobs else {}
        self.db = db
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        if self.relay:
            self._tasks.append(asyncio.create_task(self.relay.run(self.stop), name="outbox-relay"))
        if self.consumer:
            self._tasks.append(asyncio.create_task(self.consumer.run(self.stop), name="inbox-consumer"))
        for name, job in self.jobs.items():
            self._tasks.append(asyncio.create_task(job(self.db, self.stop, self.clock), name=name))

    def stopped_unexpectedly(self) -> list[str]:
        """Names of worker tasks that ended although nobody asked them to stop."""
        if self.stop.is_set():
            return []
        return [task.get_name() for task in self._tasks if task.done()]

    async def wait(self) -> None:
        await asyncio.gather(*self._tasks)

    async def shutdown(self, timeout: float = 15.0) -> None:
        self.stop.set()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)


def create_app(spec: ServiceSpec, settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or spec.settings_cls()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings)
        db = Database(settings, spec.metadata)
        app.state.db = db
        app.state.broker = BrokerProbe(settings)
        workers = Workers(spec, db, relay=settings.run_relay, consumers=settings.run_consumers, clock=_AppClock(app))
        app.state.workers = workers
        workers.start()
        log.info("service.started", settings=settings.safe_dump())
        try:
            yield
        finally:
            await workers.shutdown()
            await app.state.broker.close()
            await db.dispose()
            log.info("service.stopped")

    app = FastAPI(title=spec.title, description=spec.description, version=spec.version, lifespan=lifespan)
    app.state.settings = settings
    app.state.spec = spec
    app.state.clock = SystemClock()  # tests swap in a FixedClock
    problems.install(app, spec.problems)
    app.add_middleware(RequestContextMiddleware, service=settings.service_name)
    app.include_router(_ops_router())
    for router in spec.routers:
        app.include_router(router, prefix="/v1")
    skip_foreign_paths(app)
    openapi.install(app)
    return app


def _ops_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Database and broker are reachable", responses={503: {"description": "not ready"}})
    async def readyz(request: Request) -> JSONResponse:
        reasons: dict[str, str] = {}
        try:
            await asyncio.wait_for(request.app.state.db.ping(), 2.0)
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            reasons["database"] = f"unreachable: {type(exc).__name__}"
        try:
            await request.app.state.broker.check()
        except Exception as exc:  # noqa: BLE001
            reasons["broker"] = f"unreachable: {type(exc).__name__}"
        for name in request.app.state.workers.stopped_unexpectedly():
            reasons[name] = "stopped"
        if reasons:
            return JSONResponse({"status": "unavailable", "reasons": reasons}, status_code=503)
        body: dict[str, object] = {"status": "ready"}
        warn = request.app.state.spec.readiness_warnings
        if warn is not None:
            try:
                warnings = await asyncio.wait_for(warn(request.app.state.db, request.app.state.clock), 2.0)
            except Exception as exc:  # noqa: BLE001 - a failing warning check is itself worth a warning
                warnings = {"readiness_warnings": f"check failed: {type(exc).__name__}"}
            if warnings:
                body["warnings"] = warnings
        return JSONResponse(body)

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics_endpoint() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


class _AppClock:
    """The app's current clock, read on every call, so a test that swaps app.state.clock moves jobs too."""

    def __init__(self, app: FastAPI) -> None:
        self._app = app

    def now(self) -> datetime:
        return self._app.state.clock.now()


_READS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _uow(request: Request) -> AsyncIterator[Work]:
    """The request's transaction: commits (events included) once the route returned, before the
    response is sent; rolls back if anything raised. Routes get it as a :class:`Work`, which
    cannot commit or roll back, so no route ends the transaction by hand. A GET reads without
    BEGIN/COMMIT (see :meth:`Database.uow`), two round trips fewer per read."""
    async with request.app.state.db.uow(read_only=request.method in _READS) as uow:
        yield uow.work()
        await uow.commit()


async def _db(request: Request) -> Database:
    return request.app.state.db


async def _clock(request: Request) -> Clock:
    return request.app.state.clock


#: The request's unit of work (``scope="function"``: it commits before the response leaves).
UowDep = Annotated[Work, Depends(_uow, scope="function")]
ClockDep = Annotated[Clock, Depends(_clock)]
DatabaseDep = Annotated[Database, Depends(_db)]
