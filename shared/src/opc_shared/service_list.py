"""The one list of services (``services.toml`` beside this file) as Python values.

Usage::

    from opc_shared.service_list import SERVICES, TOPICS, service

    service("subsidy").port      # 8002
    [s.package for s in SERVICES]
    TOPICS                       # {"opc.registry.v1": 6, ...}

The Makefile reads the same file with ``python -m opc_shared.service_list <field>`` once the
virtual environment exists, and with ``sed`` before (it installs the services it names).
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

LIST_FILE = Path(__file__).with_name("services.toml")


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    package: str
    schema: str
    port: int
    topic: str
    partitions: int

    @property
    def env_prefix(self) -> str:
        return f"OPC_{self.package.upper()}_"


def load(path: Path = LIST_FILE) -> tuple[ServiceInfo, ...]:
    entries = tomllib.loads(path.read_text(encoding="utf-8"))["service"]
    services = tuple(ServiceInfo(**entry) for entry in entries)
    for field in ("name", "package", "schema", "port", "topic"):
        values = [getattr(s, field) for s in services]
        if len(set(values)) != len(values):
            raise ValueError(f"{path}: two services share a {field}")
    return services


SERVICES: tuple[ServiceInfo, ...] = load()
TOPICS: dict[str, int] = {s.topic: s.partitions for s in SERVICES}


def service(package_or_name: str) -> ServiceInfo:
    for s in SERVICES:
        if package_or_name in (s.package, s.name):
            return s
    raise KeyError(f"no service {package_or_name!r} in {LIST_FILE.name}")


def main(argv: list[str] | None = None) -> None:
    """Print one field of every service, one per line (for the Makefile and shell scripts)."""
    (field,) = argv if argv is not None else sys.argv[1:]
    for s in SERVICES:
        print(getattr(s, field))


if __name__ == "__main__":
    main()
