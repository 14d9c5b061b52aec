"""The outer guard of every service's HTTP app: input no route should ever see, and the last word on errors.

* A NUL character (or a lone UTF-16 surrogate) cannot be stored in PostgreSQL text; found in the
  path, a query parameter or any JSON string it is refused here with 422 naming the field, so no
  route reaches the database with it (which answered 500).
* A body must be JSON: another media type is 415, bytes that are not UTF-8 are 400
  ``malformed_body``, a body larger than the limit 413.
* An unexpected exception becomes a 500 problem *answered by this middleware*: Starlette's own
  handler re-raises after answering, which makes uvicorn close the keep-alive connection.

Pure ASGI, and the JSON is only parsed here when its text contains an escape that could hide
such a character, so an ordinary request costs a byte scan.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

import structlog
from sqlalchemy.exc import DBAPIError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opc_shared.problems import FieldError, Problem, render, validation_problem

log = structlog.get_logger("opc.http")

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_BODY_BYTES = 8 * 1024 * 1024
_SUSPICIOUS_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89abcdefABCDEF][0-9a-fA-F]{2})")
_NUL = "must not contain the NUL character (U+0000)"
_SURROGATE = "must be valid Unicode text (a lone UTF-16 surrogate is not)"


def _bad_text(value: str) -> str | None:
    if "\x00" in value:
        return _NUL
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE
    return None


def bad_strings(value: Any, path: tuple[str, ...] = ()) -> list[FieldError]:
    """Every string (key or value) in a decoded JSON document that cannot be stored as text."""
    found: list[FieldError] = []
    if isinstance(value, str):
        why = _bad_text(value)
        if why:
            found.append(FieldError(".".join(path) or "body", why, "string_unicode", "body"))
    elif isinstance(value, dict):
        for key, item in value.items():
            why = _bad_text(key)
            if why:
                found.append(FieldError(".".join((*path, repr(key)[1:-1])), why, "string_unicode", "body"))
            found.extend(bad_strings(item, (*path, key if not why else repr(key)[1:-1])))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(bad_strings(item, (*path, str(i))))
    return found


def _query_problem(scope: Scope) -> Problem | None:
    errors: list[FieldError] = []
    if "\x00" in scope.get("path", ""):
        errors.append(FieldError("path", _NUL, "string_unicode", "path"))
    raw = scope.get("query_string", b"")
    if b"%00" in raw or b"\x00" in raw:
        for name, value in urllib.parse.parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                errors.append(FieldError(name.replace("\x00", "\\u0000"), _NUL, "string_unicode", "query"))
    return validation_problem(errors) if errors else None


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _body_problem(body: bytes, content_type: str | None) -> Problem | None:
    if content_type is None or not _is_json(content_type):
        return Problem("unsupported_media_type", 415, params={"media_type": content_type or "(none)"})
    try:
        if not body.isascii():  # ASCII is UTF-8: a scan in C, without decoding a copy (most bodies)
            body.decode("utf-8")
    except UnicodeDecodeError:
        return Problem("malformed_body", 400, params={"reason": {"en": "it is not UTF-8", "zh-CN": "不是 UTF-8 编码"}})
    if _SUSPICIOUS_ESCAPE.search(body):
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            return None  # the route's own parsing answers malformed_body
        errors = bad_strings(document)
        if errors:
            return validation_problem(errors)
    return None


def _is_bad_stored_value(exc: BaseException) -> bool:
    """A value the database cannot store (out of range, untranslatable): the client's input, not our bug."""
    if isinstance(exc, OverflowError):
        return True
    if isinstance(exc, DBAPIError):
        return type(exc.orig).__name__ in {
            "DataError",
            "NumericValueOutOfRangeError",
            "DatetimeFieldOverflowError",
            "UntranslatableCharacterError",
            "CharacterNotInRepertoireError",
            "InvalidDatetimeFormatError",
            "StringDataRightTruncationError",
        }
    return False


class RequestGuardMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = _query_problem(scope)
        if problem is None and scope["method"] in BODY_METHODS:
            body, problem = await self._read_body(scope, receive)
            if body is None and problem is None:
                return  # the client went away
            if problem is None:
                receive = _replay(body or b"", receive)
        if problem is not None:
            await render(problem, Request(scope))(scope, receive, send)
            return

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise
            if _is_bad_stored_value(exc):
                log.warning("http.value_out_of_range", path=scope["path"], error=str(exc)[:300])
                problem = Problem("value_out_of_range", 422)
            else:
                log.exception("http.unhandled", path=scope["path"])
                problem = Problem("internal_error", 500)
            await render(problem, Request(scope))(scope, receive, send)

    async def _read_body(self, scope: Scope, receive: Receive) -> tuple[bytes | None, Problem | None]:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        declared = headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
            return b"", Problem("payload_too_large", 413, params={"limit": self.max_body_bytes})
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None, None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return b"", Problem("payload_too_large", 413, params={"limit": self.max_body_bytes})
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if not body:
            return body, None
        return body, _body_problem(body, headers.get("content-type"))


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
