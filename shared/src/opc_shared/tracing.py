"""W3C trace context carried from HTTP requests into events and from events into consumers."""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")

current_traceparent: ContextVar[str | None] = ContextVar("current_traceparent", default=None)


def parse_trace_id(traceparent: str | None) -> str | None:
    if not traceparent:
        return None
    m = _TRACEPARENT.match(traceparent.strip())
    return m.group(1) if m else None


def child_traceparent(parent: str | None) -> str:
    """Same trace, new span; a fresh trace when the parent is missing or malformed."""
    trace_id = parse_trace_id(parent) or secrets.token_hex(16)
    return f"00-{trace_id}-{secrets.token_hex(8)}-01"
