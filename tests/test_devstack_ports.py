"""`make run` binds each service where OPC_<SERVICE>_PORT says (the README's setting), and refuses
before starting anything when such a port is taken: another stack on it would answer the readiness
check and receive this stack's demo data."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from opc_devstack.__main__ import main, service_ports
from opc_devstack.infra import SERVICES


def test_service_ports_follow_the_per_service_setting() -> None:
    ports = service_ports({"OPC_REGISTRY_PORT": "9001", "OPC_COMPUTE_LEDGER_PORT": "9004"})
    assert ports["registry"] == 9001
    assert ports["compute_ledger"] == 9004
    defaults = {svc.package: svc.port for svc in SERVICES}
    assert ports["subsidy"] == defaults["subsidy"]
    assert service_ports({}) == defaults


def test_a_port_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(SystemExit, match="OPC_MATCHING_PORT"):
        service_ports({"OPC_MATCHING_PORT": "80a"})


def test_run_refuses_a_taken_service_port_before_starting_anything(tmp_path: Path, monkeypatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("OPC_SUBSIDY_PORT", str(port))
        data = tmp_path / "data"
        with pytest.raises(RuntimeError, match=f"port {port}.*OPC_SUBSIDY_PORT"):
            main(["run", "--data-dir", str(data), "--no-demo"])
    assert not data.exists()
