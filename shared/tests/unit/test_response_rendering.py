"""The read path's shortcuts render the same documents: an aggregate with its ETag serialised by
pydantic-core, a page validated in one call, and a page of rows already in the model's shape written
straight to JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from opc_shared.concurrency import etag, with_etag
from opc_shared.pagination import Page, PageOut, page_response
from opc_shared.times import UtcDateTime


class Thing(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    at: datetime
    amount_fen: int


def test_with_etag_renders_the_models_json_with_its_version() -> None:
    thing = Thing(name="算力券", at=datetime(2026, 11, 3, 8, 0, tzinfo=UTC), amount_fen=12_000)
    response = with_etag(thing, 7, status=201)
    assert response.status_code == 201
    assert response.headers["etag"] == etag(7)
    assert response.headers["content-type"] == "application/json"
    assert json.loads(response.body) == thing.model_dump(mode="json")
    assert "算力券".encode() in response.body, "UTF-8 as is, not \\u escapes"


@dataclass
class Row:
    name: str
    at: datetime
    amount_fen: int


def test_a_page_validates_dicts_and_objects_in_one_call() -> None:
    at = datetime(2026, 11, 3, tzinfo=UTC)
    page = PageOut.of(Page([{"name": "a", "at": at, "amount_fen": 1}, Row("b", at, 2)], "next"), Thing)
    assert isinstance(page, PageOut[Thing])
    assert [item.name for item in page.items] == ["a", "b"]
    assert all(isinstance(item, Thing) for item in page.items)
    assert page.next_cursor == "next"
    with pytest.raises(ValidationError):
        PageOut.of(Page([{"name": "c", "at": at, "amount_fen": "many"}], None), Thing)


class Summary(BaseModel):
    id: str
    name: str | None
    at: UtcDateTime | None
    flagged: bool


def test_a_page_of_rows_in_the_models_shape_is_the_models_json() -> None:
    """UTC times (as asyncpg gives ``timestamptz``) come out as the model's RFC 3339 ``Z``, with
    microseconds only when there are any: pydantic-core's own format must stay :func:`rfc3339`'s."""
    times = [datetime(2026, 11, 3, 8, 0, tzinfo=UTC), datetime(2026, 11, 3, 8, 0, 0, 250, tzinfo=UTC), None]
    names = ['名"/\\', "tab\there\nnew\x00\x1f\x7f", "😀 \u2028\u2029 <>&'"]
    rows = [{"id": f"id-{i}", "name": names[i], "at": at, "flagged": i == 1} for i, at in enumerate(times)]
    response = page_response(Page(rows, "next"))
    assert response.headers["content-type"] == "application/json"
    assert response.body == PageOut[Summary].model_validate({"items": rows, "next_cursor": "next"}).model_dump_json().encode()
    assert b'"2026-11-03T08:00:00.000250Z"' in response.body
