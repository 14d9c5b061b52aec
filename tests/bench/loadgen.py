"""A lean HTTP/1.1 load generator for the API benchmark: pre-encoded requests on keep-alive connections.

Why not httpx: its per-request cost (~1 ms of CPU here) is two to three times what the services spend on a
trivial request, so on a 2-core machine an httpx client is what limits both sides of a ratio (ratios drift
towards 1: 0.67-0.77 where ``wrk`` measures 0.26-0.35) and an open loop at 200 requests/s falls behind
its own schedule on a busy machine (latencies of seconds that the service did not cause). Here a request
is one ``transport.write`` of bytes built once and a response is found by its header block and
``Content-Length`` (or the end of a chunked body), ~30-50 µs of client CPU a request.

``closed_loop``: N connections, each sending its next request when the previous answer is complete (the
shape of ``wrk -t1 -cN``). ``open_loop``: request *i* is due at ``t0 + i / rate`` whether or not earlier
ones are answered; it goes out on an idle connection (a new one is opened when none is idle) and its
latency counts from when it was due, so a stall in the service is not hidden by a waiting client.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.I)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding:[ \t]*chunked", re.I)


@dataclass
class Outcome:
    """What a run of requests gave: latencies in ms (answered requests), statuses, failures."""

    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    failures: int = 0  # no complete answer: connection lost, timeout

    def count(self, status: int) -> None:
        key = str(status)
        self.statuses[key] = self.statuses.get(key, 0) + 1

    @property
    def errors(self) -> int:
        return self.failures + sum(n for s, n in self.statuses.items() if int(s) >= 400)


def encode_request(url: str, method: str, headers: dict[str, str], body: str | bytes | None) -> bytes:
    """The whole request as it goes on the wire, built once per run."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    payload = body.encode() if isinstance(body, str) else (body or b"")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() not in ("host", "content-length")]
    if payload or method not in ("GET", "HEAD", "DELETE"):
        lines.append(f"Content-Length: {len(payload)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


def response_end(buf: bytes | bytearray) -> tuple[int, int, int] | None:
    """(status, where its body starts, where it ends) for the first complete response in *buf*, or None
    while it is incomplete. A chunked body is left as it came (the bench reads bodies of Content-Length)."""
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    head = bytes(buf[:head_end])
    status = int(head[9:12])
    body_start = head_end + 4
    if m := _CONTENT_LENGTH.search(head):
        end = body_start + int(m[1])
        return (status, body_start, end) if len(buf) >= end else None
    if _CHUNKED.search(head):
        # The last chunk is "0\r\n" and an empty trailer "\r\n"; the bench's responses carry no trailers.
        last = buf.find(b"0\r\n\r\n", body_start)
        while last > body_start and buf[last - 2 : last] != b"\r\n":
            last = buf.find(b"0\r\n\r\n", last + 1)
        return (status, body_start, last + 5) if last >= body_start else None
    return status, body_start, body_start  # 1xx / 204 / 304: no body


class Connection(asyncio.Protocol):
    """One keep-alive connection: :meth:`send` writes a request and resolves to the answer's status,
    and its body if ``keep_body``."""

    def __init__(self, keep_body: bool = False) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future[Any] | None = None
        self.closed = False
        self.keep_body = keep_body

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.waiter is not None and not self.waiter.done():
            got = response_end(self.buf)
            if got is not None:
                status, start, end = got
                body = bytes(self.buf[start:end]) if self.keep_body else None
                del self.buf[:end]
                self.waiter.set_result((status, body) if self.keep_body else status)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed before the response was complete"))

    def send(self, request: bytes) -> asyncio.Future[Any]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.waiter

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def connect(host: str, port: int, *, keep_body: bool = False) -> Connection:
    _, proto = await asyncio.get_running_loop().create_connection(lambda: Connection(keep_body), host, port)
    return proto


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


async def closed_loop(url: str, request: bytes, seconds: float, connections: int) -> tuple[Outcome, float]:
    """N connections back to back for *seconds*; returns the outcome and the elapsed time."""
    host, port = _address(url)
    conns = [await connect(host, port) for _ in range(connections)]
    out = Outcome()
    deadline = time.perf_counter() + seconds

    async def worker(conn: Connection) -> None:
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            try:
                status = await asyncio.wait_for(conn.send(request), 30)
            except (ConnectionError, TimeoutError):
                out.failures += 1
                conn.close()
                conn = await connect(host, port)
                continue
            out.count(status)
            out.latencies_ms.append((time.perf_counter() - t) * 1000)

    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker(c) for c in conns))
    finally:
        for c in conns:
            c.close()
    return out, time.perf_counter() - started


async def open_loop(
    url: str, request: bytes, rate: float, seconds: float, *, timeout: float = 5.0, warm: int = 16
) -> tuple[Outcome, float]:
    """Request i due at t0 + i/rate; latency from due time; a request unanswered after *timeout* s fails."""
    host, port = _address(url)
    loop = asyncio.get_running_loop()
    idle = [await connect(host, port) for _ in range(warm)]  # connection set-up is not the service's latency
    every: list[Connection] = list(idle)
    out = Outcome()
    total = int(rate * seconds)
    pending: set[asyncio.Task] = set()

    async def one(due: float) -> None:
        conn = None
        while idle and conn is None:
            conn = idle.pop()
            if conn.closed:  # the server closed it while idle (uvicorn's keep-alive timeout is 5 s)
                conn = None
        if conn is None:
            conn = await connect(host, port)
            every.append(conn)
        try:
            status = await asyncio.wait_for(conn.send(request), max(0.001, due + timeout - loop.time()))
        except (ConnectionError, TimeoutError):
            out.failures += 1
            conn.close()
            return
        out.latencies_ms.append((loop.time() - due) * 1000)
        out.count(status)
        idle.append(conn)

    t0 = loop.time() + 0.05
    try:
        for i in range(total):
            due = t0 + i / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            task = loop.create_task(one(due))
            pending.add(task)
            task.add_done_callback(pending.discard)
        if pending:
            await asyncio.wait(pending)
    finally:
        for c in every:
            c.close()
    return out, loop.time() - t0
