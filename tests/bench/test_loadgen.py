"""The API benchmark's load generator: it must find response boundaries exactly, or every figure is wrong."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location("loadgen", Path(__file__).with_name("loadgen.py"))
loadgen = importlib.util.module_from_spec(_spec)
sys.modules["loadgen"] = loadgen  # dataclasses resolve their module's annotations through sys.modules
_spec.loader.exec_module(loadgen)  # type: ignore[union-attr]

OK = b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"ok":true}'
CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n" + b"a" * 16 + b"\r\n3\r\nb0\n\r\n0\r\n\r\n"


def test_content_length_response_ends_where_its_body_does():
    assert loadgen.response_end(OK[:-1]) is None
    assert loadgen.response_end(OK) == (200, len(OK) - 11, len(OK))
    assert loadgen.response_end(OK + OK[:20]) == (200, len(OK) - 11, len(OK))


def test_chunked_response_ends_after_the_last_chunk_not_at_a_zero_inside_one():
    for cut in range(len(CHUNKED)):
        assert loadgen.response_end(CHUNKED[:cut]) is None, cut
    assert loadgen.response_end(CHUNKED)[::2] == (200, len(CHUNKED))


def test_bodyless_status_and_encoded_request():
    head = b"HTTP/1.1 204 No Content\r\nserver: x\r\n\r\n"
    assert loadgen.response_end(head) == (204, len(head), len(head))
    raw = loadgen.encode_request("http://127.0.0.1:9/v1/cases?limit=50", "POST", {"A": "b"}, "成都")
    assert raw == "POST /v1/cases?limit=50 HTTP/1.1\r\nHost: 127.0.0.1:9\r\nA: b\r\nContent-Length: 6\r\n\r\n成都".encode()


async def _server(answers: list[bytes]) -> tuple[asyncio.Server, str, list[int]]:
    """Answers each request with the next of *answers* (cycling), split into 3-byte writes."""
    seen: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            await serve(reader, writer)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        i = 0
        while await reader.readuntil(b"\r\n\r\n"):
            seen.append(i)
            answer = answers[i % len(answers)]
            for k in range(0, len(answer), 3):
                writer.write(answer[k : k + 3])
                await writer.drain()
            i += 1

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/x", seen


async def test_closed_loop_counts_every_answer_and_its_status():
    err = b"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\n{}"
    server, url, seen = await _server([OK, CHUNKED, err])
    async with server:
        out, elapsed = await loadgen.closed_loop(url, loadgen.encode_request(url, "GET", {}, None), 0.3, 4)
    answered = sum(out.statuses.values())
    assert answered == len(out.latencies_ms) == len(seen)  # every request sent was answered and counted once
    assert answered > 30 and out.failures == 0
    assert out.statuses["404"] == out.errors > 0
    assert 0.3 <= elapsed < 2


async def test_open_loop_keeps_its_schedule_and_fails_what_is_never_answered():
    server, url, _ = await _server([OK])
    async with server:
        out, elapsed = await loadgen.open_loop(url, loadgen.encode_request(url, "GET", {}, None), 200, 0.5, warm=2)
    assert 0.49 <= elapsed < 2  # the last of 100 is due 0.495 s after the first
    assert out.statuses == {"200": 100} and out.failures == 0
    assert sorted(out.latencies_ms)[49] < 50

    async def silent(reader, writer):
        await reader.read(1 << 16)
        await asyncio.sleep(5)

    mute = await asyncio.start_server(silent, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{mute.sockets[0].getsockname()[1]}/"
    async with mute:
        out, _ = await loadgen.open_loop(url, loadgen.encode_request(url, "GET", {}, None), 50, 0.2, timeout=0.3)
    assert out.failures == 10 and not out.latencies_ms


async def test_open_loop_does_not_send_on_connections_the_server_closed_while_idle():
    """Like uvicorn's keep-alive timeout: a connection idle for 0.1 s is closed by the server."""

    async def impatient(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, TimeoutError):
            while await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 0.1):
                writer.write(OK)
        writer.close()

    server = await asyncio.start_server(impatient, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    async with server:
        out, _ = await loadgen.open_loop(url, loadgen.encode_request(url, "GET", {}, None), 4, 1.0, timeout=0.5, warm=4)
    assert out.failures == 0 and out.statuses == {"200": 4}


async def test_a_connection_can_hand_back_each_answers_body():
    server, url, _ = await _server([OK, b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"])
    async with server:
        conn = await loadgen.connect("127.0.0.1", int(url.split(":")[2].split("/")[0]), keep_body=True)
        request = loadgen.encode_request(url, "GET", {}, None)
        assert await conn.send(request) == (200, b'{"ok":true}')
        assert await conn.send(request) == (200, b"")
        conn.close()
