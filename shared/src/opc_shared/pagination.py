"""Cursor pagination: an opaque, URL-safe cursor naming the last row of the previous page."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from opc_shared.problems import FieldError, validation_problem

T = TypeVar("T")


@dataclass
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(sort_value: datetime, last_id: object) -> str:
    raw = json.dumps([sort_value.isoformat(), str(last_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        sort_value, last_id = json.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(sort_value), str(last_id)
    except (ValueError, TypeError) as exc:
        raise validation_problem([FieldError("cursor", "not a cursor this API issued", "value_error", "query")]) from exc
