#!/usr/bin/env python
"""API benchmark: each service's main reads and writes as a ratio to a trivial endpoint of the same process,
plus the CPU every service spends while it has nothing to do.

Run with ``make bench`` (all benchmarks) or ``.venv/bin/python tests/bench/api.py``; ``--help`` lists the options.

It starts the embedded stack (``opc_devstack.infra.Infra``, the broker ``OPC_DEV_BROKER`` names) and the four
services as real processes, the way ``make run`` and ops start them (``python -m <service> serve``: one uvicorn
process each, relay, consumers and jobs inside), seeds them and ANALYZEs what it seeded (:func:`analyze`). Then:

1. **Idle CPU**: after seeding and a settling pause, the CPU each service process (and the broker, and
   PostgreSQL) uses over ``--idle-seconds`` with no request and no event. Limit: 1 % of one core per service
   (DESIGN.md: "an idle service uses almost no CPU").
2. **Throughput** of every endpoint in :data:`ENDPOINTS` that the running services answer, and of the
   trivial endpoint (``GET /healthz``, same middlewares, same process), with a closed-loop load of
   16 connections (``wrk -t1 -c16`` when ``wrk`` is installed, else an asyncio client of the same shape;
   the generator is named in the output and the same one measures both sides of every ratio). Reads must
   reach ≥ 0.25 of the trivial endpoint's rate (DESIGN.md).
3. **Latency at a fixed offered rate** (``--rate``, default 200 requests/s, open loop: latency counts from
   the scheduled send time, so a stall is not hidden by the client waiting). Reads: p99 ≤ 50 ms (DESIGN.md).

To add an endpoint: one :class:`Endpoint` row in :data:`ENDPOINTS`; placeholders (``{case_id}``,
``{firm_id}`` …) come from :func:`seed`. Rows whose route does not exist yet are listed as skipped.
``--profile NAME`` records a py-spy flame graph of the service process while NAME's throughput run goes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import loadgen
import psutil

from opc_devstack.flows import RegistryClient, token
from opc_devstack.infra import SERVICES, Infra, free_port
from opc_devstack.services import ServiceProcesses

HERE = Path(__file__).resolve().parent
RESULTS_DIR = HERE / "results"
READ_RATIO_TARGET = 0.25  # DESIGN.md: authorised reads ≥ 25 % of a trivial endpoint's rate
P99_TARGET_MS = 50.0  # DESIGN.md: p99 ≤ 50 ms at 200 requests/s offered
IDLE_CPU_LIMIT_PCT = 1.0  # ours: "almost no CPU" = at most 1 % of one core per idle service
DISTRICT = "wuhou"
YEAR, MONTH = 2026, "2026-11"


@dataclass(frozen=True)
class Endpoint:
    service: str  # package name (registry, subsidy, matching, compute_ledger)
    name: str
    path: str  # placeholders filled from seed()
    auth: str = ""  # a key of seed()["tokens"], or "" for none
    method: str = "GET"
    body: dict[str, Any] | None = None
    kind: str = "read"  # read | write


def draft_form(seed_no: int = 7) -> dict[str, Any]:
    from opc_devstack.flows import id_number

    return {
        "founder": {"name": "压测", "id_number": id_number(seed_no), "phone": "13800138000", "is_graduate": False},
        "proposed_name": "成都压测智能科技有限公司",
        "business_lines": ["agent_development"],
    }


#: The main reads and writes of every service. Extend freely: a row whose route answers 404/405 is skipped.
ENDPOINTS: list[Endpoint] = [
    Endpoint("registry", "case by id (founder)", "/v1/cases/{case_id}", "founder"),
    Endpoint("registry", "queue, 50 cases (caseworker)", "/v1/cases?limit=50", "caseworker"),
    Endpoint("registry", "case progress (founder)", "/v1/cases/{case_id}/progress", "founder"),
    Endpoint("registry", "firm by id (caseworker)", "/v1/firms/{firm_id}", "caseworker"),
    Endpoint("registry", "districts catalogue", "/v1/districts", "caseworker"),
    Endpoint("registry", "open a draft case (founder)", "/v1/cases", "founder", "POST", draft_form(), "write"),
    Endpoint("subsidy", "account by firm (finance)", "/v1/accounts/{firm_id}", "finance"),
    Endpoint("subsidy", "entitlements of a firm-year", "/v1/firms/{firm_id}/entitlements?year=" + str(YEAR), "finance"),
    Endpoint("subsidy", "policy versions", "/v1/policies", "finance"),
    Endpoint("matching", "supplier profile by firm", "/v1/suppliers/{firm_id}", "caseworker"),
    Endpoint("compute_ledger", "firm account", "/v1/firm-accounts/{firm_id}", "finance"),
    Endpoint("compute_ledger", "firm month statement", "/v1/firms/{firm_id}/statement?month=" + MONTH, "finance"),
]


# --------------------------------------------------------------------------------------------- options


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="API throughput/latency per endpoint vs a trivial endpoint, and idle CPU.")
    p.add_argument("--quick", action="store_true", help="smoke run: 2 s per measurement, 1 run")
    p.add_argument(
        "--long", action="store_true", help="longer, steadier runs: 10 s per measurement, 5 runs, 20 s at the fixed rate"
    )
    p.add_argument("--duration", type=float, default=None, help="seconds per throughput measurement [4; quick 2; long 10]")
    p.add_argument("--runs", type=int, default=None, help="throughput runs per endpoint (median taken) [3; quick 1; long 5]")
    p.add_argument("--rate", type=float, default=200.0, help="offered requests/s for the latency test [200]")
    p.add_argument("--rate-duration", type=float, default=None, help="seconds at the fixed rate [8; quick 3; long 20]")
    p.add_argument("--connections", type=int, default=16, help="closed-loop connections [16]")
    p.add_argument("--idle-seconds", type=float, default=None, help="idle CPU window [10; quick 4; long 30]")
    p.add_argument("--cases", type=int, default=None, help="cases seeded in the district [200; quick 60; long 1000]")
    p.add_argument(
        "--only", action="append", default=[], metavar="TEXT", help="only endpoints whose service or name contains TEXT"
    )
    p.add_argument(
        "--generator",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="closed-loop load generator [auto: wrk if installed]",
    )
    p.add_argument("--profile", action="append", default=[], metavar="TEXT", help="py-spy flame graph of endpoints matching TEXT")
    p.add_argument("--service-env", action="append", default=[], metavar="KEY=VALUE", help="extra environment for the services")
    p.add_argument("--no-json", action="store_true", help="do not write the results JSON")
    args = p.parse_args(argv)
    mode = "quick" if args.quick else "long" if args.long else "default"
    defaults = {
        "duration": {"default": 4.0, "quick": 2.0, "long": 10.0},
        "runs": {"default": 3, "quick": 1, "long": 5},
        "rate_duration": {"default": 8.0, "quick": 3.0, "long": 20.0},
        "idle_seconds": {"default": 10.0, "quick": 4.0, "long": 30.0},
        "cases": {"default": 200, "quick": 60, "long": 1000},
    }
    for name, by_mode in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, by_mode[mode])
    args.mode = mode
    for item in args.service_env:
        if "=" not in item:
            p.error(f"--service-env needs KEY=VALUE, got {item!r}")
    return args


# ----------------------------------------------------------------------------------------------- seeding


def seed(services: ServiceProcesses, cases: int, progress) -> dict[str, Any]:
    """A district's worth of cases, one firm registered end to end (so every service has its account)."""
    registry = services.url("registry")
    founder_sub = f"bench-founder-{uuid.uuid4().hex[:6]}"
    with httpx.Client(timeout=30) as http:
        client = RegistryClient(registry, DISTRICT, http)
        community_id, _ = client.community("压测社区", workstations=3)
        registered = client.register_firm(
            name="成都压测登记科技有限公司", founder_name="张三", community_id=community_id, seed=11
        )
        progress(f"seed: firm {registered.firm_id} registered through the whole journey")
        case_ids = []
        started = time.monotonic()
        for i in range(cases):
            # Drafts and submitted cases, several founders: what a street office's queue holds.
            sub = founder_sub if i == 0 else f"bench-founder-{i}"
            form = draft_form(i) | {"proposed_name": f"成都压测{i:05d}科技有限公司", "community_id": community_id}
            response = http.post(f"{registry}/v1/cases", json=form, headers=token(DISTRICT, "firm", sub=sub))
            if response.status_code != 201:
                raise RuntimeError(f"seeding case {i}: {response.status_code} {response.text[:300]}")
            case_ids.append(response.json()["id"])
            if (i + 1) % 100 == 0:
                progress(f"seed: {i + 1:,}/{cases:,} cases ({(i + 1) / (time.monotonic() - started):.0f}/s)")
        # Wait for firm.registered to reach every consumer before the idle window starts.
        city = token("*", "finance")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if http.get(f"{services.url('subsidy')}/v1/accounts/{registered.firm_id}", headers=city).status_code == 200:
                break
            time.sleep(0.2)
    return {
        "case_id": case_ids[0],
        "firm_id": registered.firm_id,
        "tokens": {
            "founder": token(DISTRICT, "firm", sub=founder_sub)["Authorization"],
            "caseworker": token(DISTRICT, "caseworker", sub=f"caseworker@{DISTRICT}")["Authorization"],
            "finance": token("*", "finance")["Authorization"],
            "admin": token(DISTRICT, "admin")["Authorization"],
        },
    }


def analyze(infra: Infra) -> None:
    """ANALYZE what the seed wrote, as autovacuum does within a minute or so of a bulk load, so the reads
    run the plans PostgreSQL chooses for these tables rather than its guesses for tables it has no
    statistics for yet (the queue's page then sorted its whole district instead of reading its index,
    for as long as autovacuum had not come by: part of the run or all of it). Each service's role
    analyses the tables of its own schema."""
    import asyncpg

    from opc_shared.db import asyncpg_dsn

    async def run() -> None:
        for url in dict.fromkeys(infra.urls.values()):
            conn = await asyncpg.connect(asyncpg_dsn(url))
            try:
                await conn.execute("ANALYZE")
            finally:
                await conn.close()

    asyncio.run(run())


# ------------------------------------------------------------------------------------------- idle CPU


def stack_processes(infra: Infra, services: ServiceProcesses) -> dict[str, psutil.Process]:
    parts = {svc: psutil.Process(proc.pid) for svc, proc in services.procs.items()}
    if infra.broker is not None and infra.broker.proc is not None:
        parts[f"{infra.broker.kind} broker"] = psutil.Process(infra.broker.proc.pid)
    if infra.pg is not None and infra.pg.proc is not None:
        parts["postgres (all backends)"] = psutil.Process(infra.pg.proc.pid)
    return parts


def cpu_seconds(proc: psutil.Process, with_children: bool) -> float:
    try:
        t = proc.cpu_times()
        total = t.user + t.system
        if with_children:
            total += t.children_user + t.children_system
            for child in proc.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    c = child.cpu_times()
                    total += c.user + c.system
        return total
    except psutil.Error:
        return 0.0


def measure_idle(parts: dict[str, psutil.Process], seconds: float) -> dict[str, float]:
    """Percent of one core each part used over ``seconds`` of nothing to do."""
    before = {name: cpu_seconds(p, name.startswith("postgres")) for name, p in parts.items()}
    t0 = time.monotonic()
    time.sleep(seconds)
    wall = time.monotonic() - t0
    return {name: 100 * (cpu_seconds(p, name.startswith("postgres")) - before[name]) / wall for name, p in parts.items()}


# ------------------------------------------------------------------------------------------ generators


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    generator: str
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return (self.requests - self.errors) / self.seconds if self.seconds else 0.0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    pos = (len(v) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def _wrk_script(method: str, headers: dict[str, str], body: str | None) -> str:
    lines = [f'wrk.method = "{method}"']
    for k, v in headers.items():
        lines.append(f'wrk.headers["{k}"] = "{v}"')
    if body is not None:
        lines.append(f"wrk.body = [==[{body}]==]")  # a Lua long string: UTF-8 as is, no escapes
    lines.append(
        "done = function(summary, latency, requests)\n"
        '  io.write(string.format("OPC %d %d %d %d %.0f %.0f\\n", summary.requests, summary.errors.status,'
        " summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,"
        " summary.duration, latency:percentile(50), latency:percentile(99)))\nend"
    )
    return "\n".join(lines) + "\n"


def run_wrk(
    url: str, method: str, headers: dict[str, str], body: str | None, seconds: float, connections: int, tmp: Path
) -> LoadResult:
    script = tmp / f"wrk-{uuid.uuid4().hex[:6]}.lua"
    script.write_text(_wrk_script(method, headers, body))
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    match = re.search(r"^OPC (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$", out.stdout, re.M)
    if not match:
        raise RuntimeError(f"wrk gave no summary: {out.stdout[-500:]} {out.stderr[-500:]}")
    n, status_errors, socket_errors, duration_us, p50_us, p99_us = (int(x) for x in match.groups())
    return LoadResult(
        n, status_errors + socket_errors, duration_us / 1e6, p50_us / 1000, p99_us / 1000, f"wrk -t1 -c{connections}"
    )


def python_closed_loop(url, method, headers, body, seconds, connections) -> LoadResult:
    request = loadgen.encode_request(url, method, headers, body)
    out, elapsed = asyncio.run(loadgen.closed_loop(url, request, seconds, connections))
    return _load_result(out, elapsed, f"python asyncio c{connections}")


def fixed_rate(url, method, headers, body, rate: float, seconds: float) -> LoadResult:
    """Open loop: request i is due at t0 + i/rate; its latency counts from then, not from when it was sent.

    A request not answered within 5 s is an error: a process that falls behind cannot stretch the run (one
    such run took four minutes), and it fails the p99 target either way."""
    request = loadgen.encode_request(url, method, headers, body)
    out, elapsed = asyncio.run(loadgen.open_loop(url, request, rate, seconds, timeout=5.0))
    return _load_result(out, elapsed, f"python open loop {rate:g}/s")


def _load_result(out: loadgen.Outcome, elapsed: float, generator: str) -> LoadResult:
    done = out.latencies_ms
    p50, p99 = percentile(done, 50), percentile(done, 99)
    return LoadResult(len(done) + out.failures, out.errors, elapsed, p50, p99, generator, out.statuses)


# --------------------------------------------------------------------------------------------- running


@dataclass
class Row:
    endpoint: Endpoint
    status: str = "measured"  # measured | skipped: …
    rates: list[float] = field(default_factory=list)
    p50s: list[float] = field(default_factory=list)
    p99s: list[float] = field(default_factory=list)
    fixed: dict[str, float] | None = None
    trivial_rates: list[float] = field(default_factory=list)
    #: Server-side CPU per request (the service process + PostgreSQL), ms: steadier than rates on a busy machine.
    cpu_ms: list[float] = field(default_factory=list)
    trivial_cpu_ms: list[float] = field(default_factory=list)
    #: The PostgreSQL part of ``cpu_ms`` (all backends), ms per request.
    pg_cpu_ms: list[float] = field(default_factory=list)
    generator: str = ""
    errors: int = 0

    @property
    def rate(self) -> float:
        return statistics.median(self.rates) if self.rates else float("nan")

    @property
    def trivial(self) -> float:
        return statistics.median(self.trivial_rates) if self.trivial_rates else float("nan")

    @property
    def ratio(self) -> float:
        return self.rate / self.trivial if self.trivial_rates else float("nan")

    @property
    def cpu_ratio(self) -> float:
        """Trivial CPU per request / this endpoint's: the rate ratio if CPU were all that limited both."""
        if not self.cpu_ms or not self.trivial_cpu_ms:
            return float("nan")
        return statistics.median(self.trivial_cpu_ms) / statistics.median(self.cpu_ms)


def resolve(endpoint: Endpoint, seeded: dict[str, Any]) -> tuple[str, dict[str, str], str | None]:
    path = endpoint.path.format(**{k: v for k, v in seeded.items() if isinstance(v, str)})
    headers = {"Accept": "application/json"}
    if endpoint.auth:
        headers["Authorization"] = seeded["tokens"][endpoint.auth]
    body = None
    if endpoint.body is not None:
        body = json.dumps(endpoint.body, ensure_ascii=False)
        headers["Content-Type"] = "application/json"
    return path, headers, body


def profile_start(pid: int, out: Path, seconds: float) -> subprocess.Popen | None:
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(pyspy).exists():
        print("  (py-spy not installed: no profile)")
        return None
    return subprocess.Popen(
        [
            pyspy,
            "record",
            "-p",
            str(pid),
            "-d",
            str(max(1, round(seconds))),
            "-r",
            "200",
            "-o",
            str(out),
            "--format",
            "raw",
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )


def profile_summary(path: Path, top: int = 25) -> list[str]:
    """Share of samples in which each of our (non-library) frames, or a few telling library ones, appear."""
    inclusive: dict[str, int] = {}
    total = 0
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            n = int(count)
            total += n
            seen = set()
            for frame in stack.split(";"):
                name = re.sub(r" \(.*/(site-packages|src)/", " (", frame)
                if name not in seen:
                    seen.add(name)
                    inclusive[name] = inclusive.get(name, 0) + n
    if not total:
        return ["(no samples)"]
    best = sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]
    return [f"{100 * n / total:5.1f}%  {name[:150]}" for name, n in best]


def describe_row(row: Row) -> str:
    cpu = f"{statistics.median(row.cpu_ms):.2f}" if row.cpu_ms else "?"
    trivial_cpu = f"{statistics.median(row.trivial_cpu_ms):.2f}" if row.trivial_cpu_ms else "?"
    pg = f" (postgres {statistics.median(row.pg_cpu_ms):.2f})" if row.pg_cpu_ms else ""
    return (
        f"{row.rate:>7,.0f}/s vs trivial {row.trivial:>6,.0f}/s = {row.ratio:.2f}; "
        f"server CPU/request {cpu}{pg} vs {trivial_cpu} ms = {row.cpu_ratio:.2f}"
    )


def bench_endpoints(
    services: ServiceProcesses,
    seeded: dict[str, Any],
    args: argparse.Namespace,
    tmp: Path,
    progress,
    postgres: psutil.Process | None = None,
) -> list[Row]:
    use_wrk = args.generator == "wrk" or (args.generator == "auto" and shutil.which("wrk"))
    if args.generator == "wrk" and not shutil.which("wrk"):
        raise SystemExit("--generator wrk: wrk is not installed")
    endpoints = [e for e in ENDPOINTS if not args.only or any(t in e.service or t in e.name for t in args.only)]
    rows = [Row(e) for e in endpoints]

    def load(url: str, method: str, headers: dict[str, str], body: str | None) -> LoadResult:
        if use_wrk:
            return run_wrk(url, method, headers, body, args.duration, args.connections, tmp)
        return python_closed_loop(url, method, headers, body, args.duration, args.connections)

    def server_cpu(service: str) -> float:
        return cpu_seconds(psutil.Process(services.procs[service].pid), False) + pg_cpu()

    def pg_cpu() -> float:
        return cpu_seconds(postgres, True) if postgres is not None else 0.0

    with httpx.Client(timeout=30) as http:
        for row in rows:
            e = row.endpoint
            if e.service not in services.procs:
                row.status = "skipped: service not running"
                continue
            path, headers, body = resolve(e, seeded)
            url = services.url(e.service) + path
            probe = http.request(e.method, url, headers=headers, content=body)
            if probe.status_code in (404, 405) and (
                probe.headers.get("content-type", "").startswith("application/json") or probe.status_code == 405
            ):
                row.status = f"skipped: {probe.status_code} (route not there yet)"
                progress(f"{e.service:<15} {e.name:<34} {row.status}")
                continue
            if probe.status_code >= 400:
                row.status = f"skipped: probe answered {probe.status_code} {probe.text[:120]}"
                progress(f"{e.service:<15} {e.name:<34} {row.status}")
                continue
            trivial_url = services.url(e.service) + "/healthz"
            profiling = any(t in e.name or t in e.service for t in args.profile)
            for run in range(args.runs):
                # Alternate the order so neither side always gets the warmer machine.
                order = ("trivial", "endpoint") if run % 2 == 0 else ("endpoint", "trivial")
                for which in order:
                    cpu_before, pg_before = server_cpu(e.service), pg_cpu()
                    if which == "trivial":
                        r = load(trivial_url, "GET", {"Accept": "application/json"}, None)
                        row.trivial_rates.append(r.rate)
                        row.trivial_cpu_ms.append(1000 * (server_cpu(e.service) - cpu_before) / max(r.requests, 1))
                    else:
                        spy = None
                        if profiling and run == 0:
                            name = re.sub(r"[^a-z0-9]+", "-", f"{e.service}-{e.name}".lower()).strip("-")
                            out = RESULTS_DIR / f"profile-{name}.txt"
                            RESULTS_DIR.mkdir(parents=True, exist_ok=True)
                            spy = profile_start(services.procs[e.service].pid, out, args.duration)
                        r = load(url, e.method, headers, body)
                        if spy is not None:
                            spy.wait(60)
                            progress(f"  profile (collapsed stacks, e.g. for speedscope or flamegraph.pl): {out}")
                            for line in profile_summary(out):
                                progress("    " + line)
                        row.rates.append(r.rate)
                        row.cpu_ms.append(1000 * (server_cpu(e.service) - cpu_before) / max(r.requests, 1))
                        row.pg_cpu_ms.append(1000 * (pg_cpu() - pg_before) / max(r.requests, 1))
                        row.p50s.append(r.p50_ms)
                        row.p99s.append(r.p99_ms)
                        row.errors += r.errors
                        row.generator = r.generator
            if row.rate < args.rate:
                # The process cannot serve the offered rate at all: the open loop would only measure a queue growing.
                row.fixed = {"p50_ms": float("inf"), "p99_ms": float("inf"), "errors": 0, "requests": 0}
                progress(f"{e.service:<15} {e.name:<34} {describe_row(row)}; below {args.rate:g}/s offered: no fixed-rate run")
                continue
            f = fixed_rate(url, e.method, headers, body, args.rate, args.rate_duration)
            row.fixed = {"p50_ms": f.p50_ms, "p99_ms": f.p99_ms, "errors": f.errors, "requests": f.requests}
            progress(
                f"{e.service:<15} {e.name:<34} {describe_row(row)}; "
                f"at {args.rate:g}/s p50 {f.p50_ms:.1f} ms p99 {f.p99_ms:.1f} ms"
                + (f"; errors: {row.errors} closed loop, {f.errors} fixed rate {f.statuses}" if row.errors or f.errors else "")
            )
    return rows


# ------------------------------------------------------------------------------------------- reporting


def summary_rows(rows: list[Row], idle: dict[str, float], args: argparse.Namespace) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name, pct in idle.items():
        is_service = name in {s.package for s in SERVICES}
        out.append(
            {
                "metric": f"idle CPU: {name}",
                "value": f"{pct:.2f} % core",
                "limit": f"{IDLE_CPU_LIMIT_PCT:g} % of a core" if is_service else "— (info)",
                "ratio": pct / IDLE_CPU_LIMIT_PCT if is_service else None,
                "target": "≤ 1.00" if is_service else "",
                "ok": ("yes" if pct <= IDLE_CPU_LIMIT_PCT else "NO") if is_service else "",
            }
        )
    for row in rows:
        if row.status != "measured":
            continue
        e = row.endpoint
        read = e.kind == "read"
        out.append(
            {
                "metric": f"{e.service}: {e.name}",
                "value": f"{row.rate:,.0f}/s",
                "limit": f"/healthz {row.trivial:,.0f}/s",
                "ratio": row.ratio,
                "target": f"≥ {READ_RATIO_TARGET:.2f}" if read else "(write, info)",
                "ok": ("yes" if row.ratio >= READ_RATIO_TARGET else "NO") if read else "",
            }
        )
        out.append(
            {
                "metric": "  server CPU per request (service + postgres)",
                "value": f"{statistics.median(row.cpu_ms):.2f} ms"
                + (f" ({statistics.median(row.pg_cpu_ms):.2f} pg)" if row.pg_cpu_ms else ""),
                "limit": f"/healthz {statistics.median(row.trivial_cpu_ms):.2f} ms",
                "ratio": row.cpu_ratio,
                "target": "(info)",
                "ok": "",
            }
        )
        assert row.fixed is not None
        p99 = row.fixed["p99_ms"]
        out.append(
            {
                "metric": f"  p99 at {args.rate:g}/s offered",
                "value": f"{p99:.1f} ms" if p99 != float("inf") else "over capacity",
                "limit": f"{P99_TARGET_MS:g} ms (DESIGN)",
                "ratio": p99 / P99_TARGET_MS if p99 != float("inf") else None,
                "target": "≤ 1.00" if read else "(write, info)",
                "ok": ("yes" if p99 <= P99_TARGET_MS and not row.fixed["errors"] else "NO") if read else "",
            }
        )
    return out


def print_table(title: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{title}")
    print(f"{'metric':<50} {'value':>13}  {'limit':<24} {'ratio':>6}  {'target':<13} {'ok':<3}")
    print("-" * 118)
    for r in rows:
        ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "—"
        print(f"{r['metric']:<50} {r['value']:>13}  {r['limit']:<24} {ratio:>6}  {r['target']:<13} {r['ok']:<3}")


def write_results(args, env: dict[str, Any], rows: list[Row], idle: dict[str, float], summary: list[dict[str, Any]]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"api-{datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    doc = {
        "benchmark": "api",
        "args": {k: v for k, v in vars(args).items()},
        "environment": env,
        "idle_cpu_pct_of_core": idle,
        "endpoints": [
            {
                **asdict(r.endpoint),
                "status": r.status,
                "rates": r.rates,
                "cpu_ms_per_request": r.cpu_ms,
                "trivial_cpu_ms_per_request": r.trivial_cpu_ms,
                "postgres_cpu_ms_per_request": r.pg_cpu_ms,
                "trivial_rates": r.trivial_rates,
                "p50s_ms": r.p50s,
                "p99s_ms": r.p99s,
                "fixed_rate": r.fixed,
                "generator": r.generator,
                "errors": r.errors,
            }
            for r in rows
        ],
        "summary": summary,
    }
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for name in ("OPC_DATABASE_URL", "OPC_KAFKA_BOOTSTRAP_SERVERS"):
        if os.environ.pop(name, None):
            print(f"note: ignoring {name}; this benchmark runs its own embedded stack")
    env = {
        "started": datetime.now(UTC).isoformat(),
        "cpus": os.cpu_count(),
        "loadavg_at_start": os.getloadavg(),
        "broker": os.environ.get("OPC_DEV_BROKER", "noida"),
        "wrk": shutil.which("wrk"),
    }
    print(
        f"API benchmark ({args.mode}): {args.runs} run(s) × {args.duration:g} s per endpoint and trivial endpoint, "
        f"{args.rate:g}/s for {args.rate_duration:g} s, idle window {args.idle_seconds:g} s, {args.cases} cases; "
        f"{env['cpus']} CPUs, load {tuple(round(x, 2) for x in env['loadavg_at_start'])}",
        flush=True,
    )
    t_start = time.monotonic()

    def progress(msg: str) -> None:
        print(f"  [{time.monotonic() - t_start:6.1f}s] {msg}", flush=True)

    root = Path(tempfile.mkdtemp(prefix="opc-apibench-"))
    infra = Infra(root / "infra", durable=False)
    services: ServiceProcesses | None = None
    rows: list[Row] = []
    try:
        infra.start(progress=progress)
        service_env = infra.env()
        service_env.setdefault("OPC_LOG_LEVEL", "WARNING")
        service_env.update(item.split("=", 1) for item in args.service_env)
        services = ServiceProcesses(service_env, ports={s.package: free_port() for s in SERVICES})
        progress("services: starting the four services (python -m <service> serve)")
        services.start()
        seeded = seed(services, args.cases, progress)
        analyze(infra)
        progress(f"idle: settling 3 s, then measuring CPU for {args.idle_seconds:g} s with no request and no event")
        time.sleep(3)
        idle = measure_idle(stack_processes(infra, services), args.idle_seconds)
        progress("idle CPU, % of one core: " + ", ".join(f"{k} {v:.2f}" for k, v in idle.items()))
        pg = psutil.Process(infra.pg.proc.pid) if infra.pg is not None and infra.pg.proc is not None else None
        rows = bench_endpoints(services, seeded, args, root, progress, pg)
    except KeyboardInterrupt:
        print("\ninterrupted: stopping everything", file=sys.stderr)
        return 130
    finally:
        if services is not None:
            services.stop()
        infra.stop()
        shutil.rmtree(root, ignore_errors=True)
    env["loadavg_at_end"] = os.getloadavg()
    summary = summary_rows(rows, idle, args)
    print_table(
        f"API summary (medians of {args.runs} run(s); generator: {next((r.generator for r in rows if r.generator), '—')}; "
        f"broker {env['broker']}; load avg {env['loadavg_at_start'][0]:.1f} → {env['loadavg_at_end'][0]:.1f})",
        summary,
    )
    skipped = [r for r in rows if r.status != "measured"]
    for r in skipped:
        print(f"  {r.endpoint.service}: {r.endpoint.name}: {r.status}")
    if not args.no_json:
        print(f"\nresults: {write_results(args, env, rows, idle, summary)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
