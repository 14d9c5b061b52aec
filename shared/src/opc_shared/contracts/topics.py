"""Topic names (one per publishing service, see DESIGN.md), from the one list of services."""

from opc_shared.service_list import service

REGISTRY = service("registry").topic
SUBSIDY = service("subsidy").topic
MATCHING = service("matching").topic
LEDGER = service("compute_ledger").topic
ALL = (REGISTRY, SUBSIDY, MATCHING, LEDGER)
