"""Start the four services as real processes, the way ops run them, and stream their logs."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from typing import IO

import httpx

from opc_devstack import procs
from opc_devstack.infra import SERVICES, ServiceInfo


class ServiceProcesses:
    def __init__(
        self,
        env: dict[str, str],
        *,
        ports: dict[str, int] | None = None,
        services: tuple[ServiceInfo, ...] = SERVICES,
        echo: IO[str] | None = None,
    ) -> None:
        self.env = env
        self.services = services
        self.ports = ports or {svc.package: svc.port for svc in services}
        self.echo = echo
        self.procs: dict[str, subprocess.Popen] = {}
        self._threads: list[threading.Thread] = []
        self.logs: dict[str, list[str]] = {svc.package: [] for svc in services}

    def url(self, package: str) -> str:
        return f"http://127.0.0.1:{self.ports[package]}"

    def start(self, timeout: float = 60) -> None:
        for svc in self.services:
            env = dict(self.env)
            env[f"{svc.env_prefix}PORT"] = str(self.ports[svc.package])
            proc = procs.spawn([sys.executable, "-m", svc.package, "serve"], env=env, stop_signal=15)
            self.procs[svc.package] = proc
            thread = threading.Thread(target=self._pump, args=(svc.name, proc), daemon=True)
            thread.start()
            self._threads.append(thread)
        self.wait_ready(timeout)

    def _pump(self, name: str, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        package = next(s.package for s in self.services if s.name == name)
        for raw in proc.stdout:
            line = raw.decode(errors="replace").rstrip()
            buf = self.logs[package]
            buf.append(line)
            if len(buf) > 5000:
                del buf[:1000]
            if self.echo is not None:
                self.echo.write(f"[{name:>14}] {line}\n")
                self.echo.flush()

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = set(self.procs)
        while pending and time.monotonic() < deadline:
            for package in list(pending):
                proc = self.procs[package]
                if proc.poll() is not None:
                    tail = "\n".join(self.logs[package][-30:])
                    raise RuntimeError(f"{package} exited with code {proc.returncode}:\n{tail}")
                try:
                    if httpx.get(self.url(package) + "/readyz", timeout=2).status_code == 200:
                        pending.discard(package)
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
        if pending:
            raise TimeoutError(f"not ready within {timeout}s: {sorted(pending)}")

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            procs.stop(proc, timeout=20)
        for thread in self._threads:
            thread.join(2)
