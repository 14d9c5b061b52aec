"""One time format: every time in every API model and event contract is RFC 3339 UTC with ``Z``
(issue 6, item 12). Checked on the types, so a new model with a bare ``datetime`` fails here."""

from __future__ import annotations

import typing
from datetime import UTC, datetime, timedelta, timezone
from importlib import import_module

import pytest
from pydantic import BaseModel, PlainSerializer

from opc_shared.contracts.base import EventContract
from opc_shared.events import build_event
from opc_shared.routes import api_routes
from opc_shared.service import create_app
from opc_shared.times import UtcDateTime, local_text, normalize_times, rfc3339

PACKAGES = ("registry", "subsidy", "matching", "compute_ledger")


def _serialized_as_utc(metadata: typing.Iterable[object]) -> bool:
    return any(isinstance(m, PlainSerializer) and m.func is rfc3339 for m in metadata)


def bare_datetimes(tp: object, where: str, seen: set[type]) -> list[str]:
    """Places under ``tp`` where a datetime would be written without the UTC serializer."""
    if typing.get_origin(tp) is typing.Annotated:
        inner, *metadata = typing.get_args(tp)
        return [] if _serialized_as_utc(metadata) else bare_datetimes(inner, where, seen)
    if isinstance(tp, type) and issubclass(tp, datetime):
        return [where]
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if tp in seen:
            return []
        seen.add(tp)
        found = []
        for name, info in tp.model_fields.items():
            if _serialized_as_utc(info.metadata):
                continue
            found += bare_datetimes(info.annotation, f"{tp.__name__}.{name}", seen)
        return found
    found = []
    for arg in typing.get_args(tp):
        found += bare_datetimes(arg, where, seen)
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_every_response_model_writes_utc_z(package: str) -> None:
    app = create_app(import_module(f"{package}.main").spec)
    seen: set[type] = set()
    found = []
    for route in api_routes(app):
        if route.route.response_model is not None:
            found += bare_datetimes(route.route.response_model, route.path, seen)
    assert not found, f"use opc_shared.times.UtcDateTime for: {sorted(set(found))}"


def test_every_event_contract_writes_utc_z() -> None:
    def subclasses(cls: type) -> list[type]:
        return [c for sub in cls.__subclasses__() for c in (sub, *subclasses(sub))]

    import opc_shared.contracts  # noqa: F401  (registers every contract)

    found: list[str] = []
    for contract in subclasses(EventContract):
        found += bare_datetimes(contract, contract.__name__, set())
    assert not found, f"use opc_shared.times.UtcDateTime for: {sorted(set(found))}"
    envelope = build_event(
        event_type="opc.registry.case.accepted.v1",
        source="test",
        subject="s",
        data={},
        time=datetime(2026, 11, 30, 0, 0, tzinfo=timezone(timedelta(hours=8))),
    )
    assert b'"time":"2026-11-29T16:00:00Z"' in envelope.to_bytes()


def test_utc_datetime_reads_any_offset_and_writes_z() -> None:
    class Out(BaseModel):
        at: UtcDateTime
        maybe: UtcDateTime | None = None

    local = datetime(2026, 11, 30, 0, 0, tzinfo=timezone(timedelta(hours=8)))
    assert Out(at=local).model_dump(mode="json") == {"at": "2026-11-29T16:00:00Z", "maybe": None}
    assert Out(at="2026-11-30T00:00:00.5+08:00").model_dump_json() == '{"at":"2026-11-29T16:00:00.500000Z","maybe":null}'
    with pytest.raises(ValueError, match=r"time zone|timezone"):
        Out(at="2026-11-30T00:00:00")
    with pytest.raises(ValueError, match="between"):
        Out(at="0001-01-01T00:00:00Z")


def test_free_form_details_are_normalised() -> None:
    detail = {
        "due_at": "2026-11-30T00:00:00+08:00",
        "note": "2026-11-30T00:00:00+08:00",
        "signoffs": [{"at": datetime(2026, 1, 1, tzinfo=UTC)}],
    }
    assert normalize_times(detail) == {
        "due_at": "2026-11-29T16:00:00Z",
        "note": "2026-11-30T00:00:00+08:00",  # not a time field: text stays as written
        "signoffs": [{"at": "2026-01-01T00:00:00Z"}],
    }


def test_people_read_local_time_in_words() -> None:
    due = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)  # midnight at the end of 29 November in Chengdu
    assert local_text(due, "zh-CN") == "2026年11月29日（星期日）24:00"
    assert local_text(due, "en") == "Sun 29 Nov 2026, 24:00 (Beijing time)"
    assert local_text(datetime(2026, 11, 30, 1, 30, tzinfo=UTC), "zh-CN") == "2026年11月30日（星期一）09:30"
