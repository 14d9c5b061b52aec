"""The read path's shortcuts render the same documents: an aggregate with its ETag serialised by
pydantic-core, and a page validated in one call."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from opc_shared.concurrency import etag, with_etag
from opc_shared.pagination import Page, PageOut


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
