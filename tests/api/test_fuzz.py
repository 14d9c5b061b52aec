"""Schemathesis over all four services' OpenAPI documents: 0 server errors, 0 violations of the
documents (issue 6, item 14). A bounded run here; ``make fuzz`` runs more examples."""

from __future__ import annotations

import os

import pytest

from opc_devstack.fuzz import fuzz_running, service_env
from opc_devstack.infra import SERVICES, free_port
from opc_devstack.services import ServiceProcesses

MAX_EXAMPLES = int(os.environ.get("OPC_FUZZ_MAX_EXAMPLES", "8"))


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_schemathesis_finds_no_server_error_and_no_violation(infra) -> None:
    services = ServiceProcesses(service_env(infra.env()), ports={s.package: free_port() for s in SERVICES})
    services.start()
    try:
        outcomes = fuzz_running(
            {s.package: services.url(s.package) for s in SERVICES}, max_examples=MAX_EXAMPLES, seed=20261122, workers=1
        )
    finally:
        services.stop()
    failed = [o for o in outcomes if not o.ok]
    assert not failed, "\n\n".join(f"== {o.package} (exit {o.returncode})\n{o.output[-6000:]}" for o in failed)
    for outcome in outcomes:
        assert "generated" in outcome.output or "passed" in outcome.output, outcome.output[-2000:]
