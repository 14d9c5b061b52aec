"""OPC_TEST_INFRA selects the test infrastructure; asking for containers without a Docker
engine fails fast with a clear message instead of hanging or silently using something else."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _run_probe(tmp_path: Path, mode: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_probe.py").write_text("def test_needs_infra(infra):\n    pass\n")
    env = {k: v for k, v in os.environ.items() if k not in ("OPC_DATABASE_URL", "OPC_KAFKA_BOOTSTRAP_SERVERS")}
    env["OPC_TEST_INFRA"] = mode
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(tmp_path / "test_probe.py"),
            "--rootdir",
            str(tmp_path),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


def test_testcontainers_without_an_engine_fails_fast(tmp_path: Path) -> None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "info"], capture_output=True, timeout=10).returncode == 0:
        pytest.skip("a Docker engine is available here; the fail-fast path needs its absence")
    result = _run_probe(tmp_path, "testcontainers")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "needs a Docker engine" in result.stdout + result.stderr


def test_an_unknown_mode_is_refused(tmp_path: Path) -> None:
    result = _run_probe(tmp_path, "in-the-cloud")
    assert result.returncode == 3
    assert "must be 'embedded' or 'testcontainers'" in result.stdout + result.stderr


def test_an_unknown_embedded_broker_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPC_DEV_BROKER", "redpanda")
    result = _run_probe(tmp_path, "embedded")
    assert result.returncode == 3
    assert "OPC_DEV_BROKER must be one of noida, tansu" in result.stdout + result.stderr
