"""Producers and consumers agree on every event: the contract catalogue is the one source,
its committed JSON Schemas match the models, and every consumer handles only catalogued types
whose producer publishes on the topic the consumer subscribes to."""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import re
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest

from opc_shared.contracts import CATALOGUE, SCHEMA_DIR, EventContract, json_schema
from opc_shared.contracts.registry import FirmRegisteredV1
from opc_shared.events import build_event

ROOT = Path(__file__).resolve().parents[1]

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


SERVICE_PACKAGES = ["registry", "subsidy", "matching", "compute_ledger"]
CONTRACT_NAME = re.compile(r"^[A-Z]\w*V\d+$")


def _import_everything() -> None:
    """Every contract module and every service module (but migrations and entry points, which run on import)."""
    for package in ["opc_shared.contracts", *SERVICE_PACKAGES]:
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, f"{package}."):
            if ".migrations" not in info.name and not info.name.endswith("__main__"):
                importlib.import_module(info.name)


def _ours(cls: type) -> bool:
    return cls.__module__.split(".")[0] in {"opc_shared", *SERVICE_PACKAGES}


def _all_subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_all_subclasses(sub)}
    return found


def test_every_concrete_contract_is_catalogued() -> None:
    """A contract class with its own ``event_type`` is publishable, so it must be in the catalogue
    (with a committed schema, checked above); abstract bases carry no ``event_type``."""
    _import_everything()
    concrete = {c for c in _all_subclasses(EventContract) if _ours(c) and "event_type" in c.__dict__}
    assert concrete, "sanity: the walk must see the contracts"
    missing = sorted(
        f"{c.__module__}.{c.__qualname__} ({c.event_type})" for c in concrete if CATALOGUE.get(c.event_type) is not c
    )
    assert not missing, f"contracts outside the catalogue: {missing}"


def _contract_names_used_by(folder: Path) -> dict[str, set[str]]:
    used: dict[str, set[str]] = {}
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
            if name and CONTRACT_NAME.match(name):
                used.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return used


def test_every_contract_a_service_names_is_a_catalogued_one() -> None:
    """Walks every publish site: any contract class a service's code names (publish, record,
    events.append, a table of them) is a catalogued contract or one of their abstract bases."""
    _import_everything()
    by_name = {c.__name__: c for c in _all_subclasses(EventContract) if _ours(c)}
    catalogued = {c.__name__ for c in CATALOGUE.values()}
    used = {}
    for package in SERVICE_PACKAGES:
        used.update(_contract_names_used_by(Path(importlib.import_module(package).__file__).parent))
    assert {"FirmRegisteredV1", "MaterialsReminderV1", "SlaWarningV1"} <= set(used), "sanity: the scan sees publish sites"
    wrong = {
        name: sorted(files)
        for name, files in used.items()
        if name not in catalogued and not (name in by_name and "event_type" not in by_name[name].__dict__)
    }
    assert not wrong, f"services name contracts that are not catalogued: {wrong}"


def test_publishing_an_uncatalogued_type_fails() -> None:
    from opc_shared.contracts.registry import MaterialsReminderV1
    from opc_shared.db import Database, UnregisteredEvent
    from registry.adapters.tables import metadata
    from registry.settings import RegistrySettings

    class NotInTheCatalogueV1(FirmRegisteredV1):
        event_type = "opc.registry.firm.not_catalogued.v1"

    class ImpostorV1(FirmRegisteredV1):  # a catalogued type name on another class
        event_type = FirmRegisteredV1.event_type

    db = Database(RegistrySettings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none"), metadata)
    uow = db.uow()
    firm = {"firm_id": uuid4(), "name": "n", "district": "wuhou", "founder_name": "f", "registered_at": datetime.now(UTC)}
    with pytest.raises(UnregisteredEvent, match="not_catalogued"):
        uow.publish(NotInTheCatalogueV1(**firm))
    with pytest.raises(UnregisteredEvent):
        uow.publish(ImpostorV1(**firm))
    uow.publish(FirmRegisteredV1(**firm))
    uow.publish(
        MaterialsReminderV1(
            case_id=uuid4(),
            firm_id=uuid4(),
            district="wuhou",
            items=["id_card"],
            reminder_no=1,
            founder_account="f",
            reminded_at=datetime.now(UTC),
        )
    )
    assert [e.type for e in uow.pending_events] == [FirmRegisteredV1.event_type, MaterialsReminderV1.event_type]


@pytest.mark.parametrize("event_type", sorted(t for t in CATALOGUE if t.startswith("opc.registry.")))
def test_a_registry_event_about_a_firm_is_keyed_by_the_firm(event_type: str) -> None:
    """DESIGN: every cross-service event is keyed by the firm it concerns, so one firm's history
    (its case's events included) is one ordered stream on one partition. (Other services may key
    an event by the aggregate it is about, e.g. matching's offers by their demand.)"""
    contract = CATALOGUE[event_type]
    if "firm_id" in contract.model_fields:
        assert contract.subject_field == "firm_id", f"{event_type} carries firm_id but is keyed by {contract.subject_field}"
        assert contract.model_fields["firm_id"].is_required(), f"{event_type}: a firm event always knows its firm"
