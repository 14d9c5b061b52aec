"""``python -m opc_devstack run``: what ``make run`` does."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

from opc_devstack import demo, demo_ledger
from opc_devstack.infra import SERVICES, Infra, clean, ensure_port_free
from opc_devstack.services import ServiceProcesses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m opc_devstack")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start everything in the foreground; Ctrl-C stops it all")
    run.add_argument("--data-dir", type=Path, default=Path(os.environ.get("OPC_DEV_DATA_DIR", ".data")))
    run.add_argument("--pg-port", type=int, default=int(os.environ.get("OPC_DEV_PG_PORT", "55432")))
    run.add_argument("--kafka-port", type=int, default=int(os.environ.get("OPC_DEV_KAFKA_PORT", "19092")))
    run.add_argument("--no-demo", action="store_true")
    cl = sub.add_parser("clean", help="delete the dev data directory")
    cl.add_argument("--data-dir", type=Path, default=Path(os.environ.get("OPC_DEV_DATA_DIR", ".data")))
    args = parser.parse_args(argv)
    if args.command == "clean":
        clean(args.data_dir)
        print(f"removed {args.data_dir}")
        return 0
    return _run(args)


def service_ports(environ: Mapping[str, str]) -> dict[str, int]:
    """Each service's HTTP port: ``OPC_<SERVICE>_PORT`` when set (as the README says), else the one list's."""
    ports = {}
    for svc in SERVICES:
        raw = environ.get(f"{svc.env_prefix}PORT", "").strip()
        if raw and not raw.isdigit():
            raise SystemExit(f"{svc.env_prefix}PORT={raw!r} is not a port number")
        ports[svc.package] = int(raw) if raw else svc.port
    return ports


def _run(args: argparse.Namespace) -> int:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    infra = Infra(args.data_dir.resolve(), pg_port=args.pg_port, kafka_port=args.kafka_port, durable=True)
    services: ServiceProcesses | None = None
    ports = service_ports(os.environ)
    for svc in SERVICES:  # a port taken by another stack would answer our readiness check and take our demo data
        ensure_port_free(ports[svc.package], f"{svc.name} service ({svc.env_prefix}PORT)")
    try:
        infra.start(progress=lambda m: print(f"[devstack] {m}", flush=True))
        env = infra.env()
        env.setdefault("OPC_LOG_JSON", "true")
        services = ServiceProcesses(env, ports=ports, echo=sys.stdout)
        print("[devstack] services: starting registry, subsidy, matching, compute-ledger", flush=True)
        services.start()
        if not args.no_demo:
            ids = demo.load(
                services.url("registry"), services.url("subsidy"), services.url("compute_ledger"), services.url("matching")
            )
            print(f"[devstack] demo data: {len(ids)} firms registered (idempotent; re-running adds none)", flush=True)
            demo_ledger.load(services.url("registry"), services.url("compute_ledger"), ids)
        print("\n[devstack] ready:", flush=True)
        for svc in SERVICES:
            url = services.url(svc.package)
            print(f"  {svc.name:<15} {url}   docs: {url}/docs", flush=True)
        print("  dev token:      .venv/bin/opc-token --district wuhou --roles caseworker", flush=True)
        print("[devstack] Ctrl-C stops everything.\n", flush=True)
        while not stop.wait(0.5):
            for name, proc in services.procs.items():
                if proc.poll() is not None:
                    print(f"[devstack] {name} exited with code {proc.returncode}; stopping", flush=True)
                    return 1
        return 0
    finally:
        print("[devstack] stopping services, broker and postgres…", flush=True)
        if services is not None:
            services.stop()
        infra.stop()
        print("[devstack] stopped; data kept in", args.data_dir, flush=True)


if __name__ == "__main__":
    sys.exit(main())
