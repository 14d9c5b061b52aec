"""Topic names (one per publishing service, see DESIGN.md)."""

REGISTRY = "opc.registry.v1"
SUBSIDY = "opc.subsidy.v1"
MATCHING = "opc.matching.v1"
LEDGER = "opc.ledger.v1"
ALL = (REGISTRY, SUBSIDY, MATCHING, LEDGER)
