"""The catalogue of event contracts: one pydantic model per versioned event type.

``python -m opc_shared.contracts DIR`` (or ``opc-contracts DIR``) writes each contract's
JSON Schema; the committed copies under ``schemas/`` are checked by the contract tests.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from opc_shared.contracts.base import EventContract
from opc_shared.contracts.ledger import LEDGER_EVENTS
from opc_shared.contracts.matching import MATCHING_EVENTS
from opc_shared.contracts.registry import REGISTRY_EVENTS, FirmRegisteredV1
from opc_shared.contracts.subsidy import SUBSIDY_EVENTS

CATALOGUE: dict[str, type[EventContract]] = {
    c.event_type: c for c in (*REGISTRY_EVENTS, *LEDGER_EVENTS, *MATCHING_EVENTS, *SUBSIDY_EVENTS)
}
SCHEMA_DIR = Path(__file__).parent / "schemas"


def contract_for(event_type: str) -> type[EventContract]:
    try:
        return CATALOGUE[event_type]
    except KeyError:
        raise KeyError(f"unknown event type {event_type!r}") from None


def json_schema(contract: type[EventContract]) -> dict:
    schema = contract.model_json_schema(mode="serialization")
    schema["$id"] = f"urn:opc:schema:{contract.event_type}"
    schema["x-topic"] = contract.topic
    schema["x-subject-field"] = contract.subject_field
    return schema


def export(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for event_type, contract in sorted(CATALOGUE.items()):
        path = directory / f"{event_type}.json"
        path.write_text(json.dumps(json_schema(contract), indent=2, ensure_ascii=False, sort_keys=True) + "\n")
        written.append(path)
    return written


def export_cli() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_DIR
    for path in export(target):
        print(path)


__all__ = ["CATALOGUE", "EventContract", "FirmRegisteredV1", "contract_for", "export", "json_schema"]
