"""Schemathesis over the four services' OpenAPI documents, as a portal developer would meet them.

``make fuzz`` (or ``python -m opc_devstack.fuzz``) starts its own embedded PostgreSQL and broker
in a temporary directory (or uses ``OPC_DATABASE_URL``/``OPC_KAFKA_BOOTSTRAP_SERVERS``), runs the
four services as real processes on free ports, and runs ``st run`` against each document with a
city-wide staff token. It passes only with 0 server errors and 0 violations of the documents
(status codes, content types, response schemas and headers). The suite runs the same with fewer
examples (``tests/api/test_fuzz.py``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from opc_devstack.flows import token
from opc_devstack.infra import SERVICES, Infra, free_port
from opc_devstack.services import ServiceProcesses

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
)
#: Who calls: a district's staff in every role (refusals by role are then the rules', not the token's).
ROLES = ("admin", "caseworker", "reviewer", "finance", "scenario_owner")


@dataclass
class Outcome:
    package: str
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def st_binary() -> str:
    local = Path(sys.executable).with_name("st")
    return str(local) if local.exists() else (shutil.which("st") or "st")


def run_schemathesis(
    package: str,
    base_url: str,
    *,
    max_examples: int,
    seed: int,
    workers: int = 1,
    report_dir: Path | None = None,
    checks: tuple[str, ...] = CHECKS,
) -> Outcome:
    auth = token("wuhou", *ROLES, sub="fuzz-staff")["Authorization"]
    cmd = [
        st_binary(),
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        ",".join(checks),
        "--header",
        f"Authorization: {auth}",
        "--max-examples",
        str(max_examples),
        "--seed",
        str(seed),
        "--workers",
        str(workers),
        "--phases",
        "examples,coverage,fuzzing",
        "--generation-database",
        "none",
        "--no-color",
        "--request-timeout",
        "30",
    ]
    if report_dir is not None:
        cmd += ["--report", "junit", "--report-dir", str(report_dir / package)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, check=False)
    return Outcome(package, result.returncode, result.stdout + result.stderr)


def fuzz_running(
    urls: dict[str, str],
    *,
    max_examples: int,
    seed: int,
    workers: int = 1,
    report_dir: Path | None = None,
    checks: tuple[str, ...] = CHECKS,
) -> list[Outcome]:
    """One ``st run`` per service, all at once (each waits on its service most of the time)."""
    with ThreadPoolExecutor(max_workers=len(urls) or 1) as pool:
        futures = [
            pool.submit(
                run_schemathesis, package, url, max_examples=max_examples, seed=seed, workers=workers, report_dir=report_dir
            )
            for package, url in urls.items()
        ]
        return [f.result() for f in futures]


def service_env(base: dict[str, str]) -> dict[str, str]:
    """The services answer HTTP only: no relay, consumers or jobs competing for the two cores."""
    env = dict(base)
    env.update({"OPC_RUN_RELAY": "false", "OPC_RUN_CONSUMERS": "false", "OPC_RUN_JOBS": "false", "OPC_LOG_LEVEL": "WARNING"})
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m opc_devstack.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=int(os.environ.get("OPC_FUZZ_MAX_EXAMPLES", "40")))
    parser.add_argument("--seed", type=int, default=int(os.environ.get("OPC_FUZZ_SEED", "20261122")))
    parser.add_argument(
        "--workers", type=int, default=1, help="schemathesis workers per service (its coverage phase is not thread-safe above 1)"
    )
    parser.add_argument("--report-dir", type=Path, default=None, help="write JUnit reports here")
    parser.add_argument("--checks", default=",".join(CHECKS), help="schemathesis checks (comma-separated, or all)")
    parser.add_argument("--service", action="append", choices=[s.package for s in SERVICES], help="only these (repeatable)")
    args = parser.parse_args(argv)
    chosen = tuple(s for s in SERVICES if not args.service or s.package in args.service)
    root = Path(tempfile.mkdtemp(prefix="opc-fuzz-"))
    infra = Infra(root, durable=False)
    services: ServiceProcesses | None = None
    try:
        infra.start(progress=lambda m: print(f"[fuzz] {m}", flush=True))
        services = ServiceProcesses(service_env(infra.env()), ports={s.package: free_port() for s in chosen}, services=chosen)
        services.start()
        print(f"[fuzz] schemathesis: {args.max_examples} examples per operation, seed {args.seed}", flush=True)
        outcomes = fuzz_running(
            {s.package: services.url(s.package) for s in chosen},
            max_examples=args.max_examples,
            seed=args.seed,
            workers=args.workers,
            report_dir=args.report_dir,
            checks=tuple(args.checks.split(",")),
        )
        for outcome in outcomes:
            print(outcome.output, flush=True)
        for outcome in outcomes:
            print(f"[fuzz] {outcome.package:<15} {'ok' if outcome.ok else 'FAILED'}", flush=True)
        return 0 if all(o.ok for o in outcomes) else 1
    finally:
        if services is not None:
            services.stop()
        infra.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
