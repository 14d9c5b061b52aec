"""Producers and consumers agree on every event: the contract catalogue is the one source,
its committed JSON Schemas match the models, and every consumer handles only catalogued types
whose producer publishes on the topic the consumer subscribes to."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from opc_shared.contracts import CATALOGUE, SCHEMA_DIR, json_schema
from opc_shared.contracts.registry import FirmRegisteredV1
from opc_shared.events import build_event

CONSUMER_SPECS = ["subsidy.main", "matching.main", "compute_ledger.main"]


@pytest.mark.parametrize("event_type", sorted(CATALOGUE))
def test_committed_schema_matches_the_model(event_type: str) -> None:
    committed = json.loads((SCHEMA_DIR / f"{event_type}.json").read_text())
    assert committed == json.loads(json.dumps(json_schema(CATALOGUE[event_type]))), (
        f"{event_type} changed; run `make contracts`, and if a field was removed or retyped, publish a new version instead"
    )


def test_every_committed_schema_has_a_model() -> None:
    assert {p.name.removesuffix(".json") for p in SCHEMA_DIR.glob("*.json")} == set(CATALOGUE)


@pytest.mark.parametrize("module", CONSUMER_SPECS)
def test_consumers_handle_catalogued_types_on_topics_they_subscribe_to(module: str) -> None:
    import importlib

    spec = importlib.import_module(module).spec
    settings = spec.settings_cls
    assert spec.handlers, f"{module} consumes nothing"
    for contract in spec.handlers:
        assert CATALOGUE.get(contract.event_type) is contract, f"{contract.event_type} is not the catalogued contract"
        assert contract.topic in settings.consumes, (
            f"{module} handles {contract.event_type} but does not subscribe to {contract.topic}"
        )


def test_type_names_follow_the_convention() -> None:
    for event_type, contract in CATALOGUE.items():
        service = event_type.split(".")[1]
        assert contract.topic == f"opc.{service}.v1"
        assert event_type.rsplit(".", 1)[-1].startswith("v")


def test_a_produced_event_validates_against_the_consumer_contract() -> None:
    produced = FirmRegisteredV1(firm_id=uuid4(), name="n", district="wuhou", founder_name="f", registered_at=datetime.now(UTC))
    event = build_event(event_type=produced.event_type, source="/opc/registry", subject=produced.subject, data=produced.payload())
    assert FirmRegisteredV1.model_validate(event.data) == produced
    schema = json_schema(FirmRegisteredV1)
    assert set(schema["required"]) <= set(event.data)
