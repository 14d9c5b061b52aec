"""JSON logs carrying request id and trace id, and the HTTP middleware that sets them."""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opc_shared import metrics
from opc_shared.settings import ServiceSettings
from opc_shared.tracing import child_traceparent, current_traceparent, parse_trace_id

_SECRETISH = re.compile(r"(authorization|secret|password|token|signature)", re.I)


def _redact(_: object, __: str, event_dict: dict) -> dict:
    for key in list(event_dict):
        if _SECRETISH.search(key):
            event_dict[key] = "***"
    return event_dict


def configure_logging(settings: ServiceSettings) -> None:
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    renderer = structlog.processors.JSONRenderer() if settings.log_json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(settings.log_level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
    # Route stdlib loggers (uvicorn, aiokafka, sqlalchemy) through the same JSON renderer.
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer], foreign_pre_chain=shared
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for noisy in ("aiokafka", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.contextvars.bind_contextvars(service=settings.service_name)


class RequestContextMiddleware:
    """Pure ASGI (no per-request task switch): request id, trace context, access log, metrics."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service
        self.log = structlog.get_logger("opc.http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        request_id = headers.get("x-request-id") or uuid.uuid4().hex
        traceparent = child_traceparent(headers.get("traceparent"))
        scope.setdefault("state", {})["request_id"] = request_id
        token = current_traceparent.set(traceparent)
        structlog.contextvars.bind_contextvars(request_id=request_id, trace_id=parse_trace_id(traceparent))
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode()),
                    (b"traceparent", traceparent.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            method = scope["method"]
            metrics.HTTP_REQUESTS.labels(self.service, method, path, str(status)).inc()
            metrics.HTTP_LATENCY.labels(self.service, method, path).observe(elapsed)
            if path not in ("/metrics", "/healthz", "/readyz"):
                self.log.info(
                    "http.request", method=method, path=scope["path"], route=path, status=status, ms=round(elapsed * 1000, 2)
                )
            structlog.contextvars.unbind_contextvars("request_id", "trace_id")
            current_traceparent.reset(token)
