#!/usr/bin/env python
"""Compute-ledger benchmark: signed webhook ingest against the limits measured in the same run.

Run with ``make bench`` (``.venv/bin/python tests/bench/ledger.py``); ``--help`` lists the options.
It starts its own embedded PostgreSQL (a throw-away cluster: ``fsync``, ``synchronous_commit`` and
full-page writes off, for both sides alike; every figure is for committed transactions; ``--durable``
turns all three on, as a production cluster runs) and broker,
migrates, and runs the ledger as a real process (``uvicorn compute_ledger.main:create``, one worker, as
``python -m compute_ledger serve`` runs it) with a load generator in this process. Each measurement is
repeated ``--runs`` times; the table shows medians.

1. **Batch ingest**: ``--records`` usage records (default 200,000) sent as signed ``usage.reported``
   calls of 1,000 records, ``--dup-share`` of them (default 10 %) records already sent before (a
   vendor's retry under a new webhook-id: answered ``duplicate``), ``--concurrency`` calls in flight.
   Every call is verified (Standard Webhooks), validated record by record, rated against a price
   table, deduplicated for good and committed. **Limit**: the same rows inserted by asyncpg into a
   plain table with the same columns and a unique (vendor, record id) key, one multi-row
   ``INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING`` per 1,000 rows, the same concurrency. That
   table is made once and keeps every run's rows, as the ledger's tables keep theirs (before this, it was
   made anew for each run, so runs 2 and 3 set an empty table against a ledger holding 180,000 records per
   earlier run).
   Target (DESIGN.md): ≥ 0.5. The peak RSS of the ledger process during ingest is recorded.
2. **Single-record webhooks**: requests/s of signed one-record calls vs a trivial FastAPI endpoint
   built by the same ``create_app`` (same middleware, logging, problem handlers) served by the same
   uvicorn setup, with the same client and concurrency. Target: ≥ 0.5.
3. **Statement and meters of a firm with 1,000,000 records** in one month: p50/p95 latency of
   ``GET /v1/firms/{id}/statement`` and ``GET /v1/firms/{id}/meters?granularity=day`` over HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import loadgen
import msgspec
import psutil

from opc_devstack import procs
from opc_devstack.infra import Infra, free_port
from opc_devstack.ledger_flows import envelope, gpu, new_uscc, sign, tokens
from opc_shared.auth import mint_token
from opc_shared.db import asyncpg_dsn
from opc_shared.settings import DEFAULT_JWT_SECRET

TRIVIAL_APP = """
from fastapi import APIRouter, Request
from sqlalchemy import MetaData
from compute_ledger.settings import ComputeLedgerSettings
from opc_shared.service import ServiceSpec, create_app

router = APIRouter()

@router.post("/trivial")
async def trivial(request: Request) -> dict:
    await request.body()
    return {"status": "ok"}

def create():
    spec = ServiceSpec(package="trivial", title="trivial", description="trivial", settings_cls=ComputeLedgerSettings,
                       metadata=MetaData(), routers=[router])
    return create_app(spec)
"""

RAW_TABLE = """
DROP TABLE IF EXISTS ledger.bench_usage_raw;
CREATE TABLE ledger.bench_usage_raw (
    vendor_id uuid NOT NULL, record_id varchar(128) NOT NULL, buyer_uscc varchar(18) NOT NULL, pool_id uuid,
    kind varchar(8) NOT NULL, resource varchar(128) NOT NULL, started_at timestamptz NOT NULL, ended_at timestamptz NOT NULL,
    gpu_seconds bigint NOT NULL, input_tokens bigint NOT NULL, cached_input_tokens bigint NOT NULL, output_tokens bigint NOT NULL,
    amount_fen bigint NOT NULL, tax_rate_bp integer NOT NULL, correction_of varchar(128),
    PRIMARY KEY (vendor_id, record_id))
"""

RAW_INSERT = """
INSERT INTO ledger.bench_usage_raw SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::text[], $6::text[],
    $7::timestamptz[], $8::timestamptz[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::int[],
    $15::text[]) ON CONFLICT DO NOTHING
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--records", type=int, default=200_000, help="records per ingest run [200000]")
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--dup-share", type=float, default=0.1)
    p.add_argument("--concurrency", type=int, default=4, help="batch calls (and raw insert transactions) in flight [4]")
    p.add_argument("--slices", type=int, default=5, help="turns each side takes in an ingest run, alternating [5]")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="uvicorn worker processes of the ledger and the trivial app [1: as `python -m compute_ledger serve` runs]",
    )
    p.add_argument("--single-seconds", type=float, default=10.0, help="seconds per single-webhook measurement [10]")
    p.add_argument("--single-concurrency", type=int, default=16)
    p.add_argument("--firm-records", type=int, default=1_000_000, help="records of the one firm for statement/meters [1e6]")
    p.add_argument("--queries", type=int, default=20, help="statement and meter requests per run [20]")
    p.add_argument("--skip-ingest", action="store_true", help="only the statement and meter latencies")
    p.add_argument("--quick", action="store_true", help="1 run, 20,000 records, 3 s, 100,000 firm records")
    p.add_argument("--no-json", action="store_true", help="do not write tests/bench/results/ledger-*.json")
    p.add_argument("--durable", action="store_true", help="PostgreSQL with fsync, synchronous_commit and full-page writes on")
    args = p.parse_args(argv)
    if args.quick:
        args.runs, args.records, args.single_seconds, args.firm_records, args.queries = 1, 20_000, 3.0, 100_000, 10
    return args


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Server:
    """One uvicorn process serving an app factory, as ``python -m <svc> serve`` does."""

    def __init__(self, env: dict[str, str], factory: str, log: Path, extra_path: Path | None = None, workers: int = 1) -> None:
        self.port = free_port()
        self.workers = workers
        self.env = dict(env)
        if extra_path:
            self.env["PYTHONPATH"] = f"{extra_path}{os.pathsep}{self.env.get('PYTHONPATH', '')}"
        self.factory, self.log = factory, log
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        argv = [sys.executable, "-m", "uvicorn", self.factory, "--factory", "--port", str(self.port), "--no-access-log",
                "--log-level", "warning", "--workers", str(self.workers)]  # fmt: skip
        with open(self.log, "ab") as out:
            self.proc = procs.spawn(argv, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            if self.proc.poll() is not None:
                raise RuntimeError(self.log.read_text()[-3000:])
            time.sleep(0.2)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU of a process and all its children (uvicorn workers, PostgreSQL backends)."""
    if pid is None:
        return 0.0
    total = 0.0
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        for proc in (root, *root.children(recursive=True)):
            with contextlib.suppress(psutil.Error):
                t = proc.cpu_times()
                total += t.user + t.system
    return total


PG_PID: list[int | None] = [None]
ADMIN_DSN: list[str | None] = [None]  # the cluster's superuser (CHECKPOINT), when the bench started the cluster

#: What ingest writes, on both sides: vacuumed and checkpointed before each timed window (``settle``)
SETTLED_TABLES = "ledger.usage, ledger.usage_keys, ledger.webhook_messages, ledger.bench_usage_raw"


async def settle(dsn: str) -> None:
    """Before a timed window, as pgbench vacuums before its runs: the upkeep earlier windows left owing
    (autovacuum of the rows they inserted, a checkpoint of the pages they dirtied) is done now, so it is
    not charged to whichever window it would happen to land in. A window's own upkeep stays in it:
    autovacuum is on, as in production."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"VACUUM (ANALYZE) {SETTLED_TABLES}")
    finally:
        await conn.close()
    if ADMIN_DSN[0] is not None:
        admin = await asyncpg.connect(ADMIN_DSN[0])
        try:
            await admin.execute("CHECKPOINT")
        finally:
            await admin.close()


async def _keep_session(conn: asyncpg.Connection) -> None:
    """A pool's ``reset`` for connections whose session state nothing changes: nothing to run."""


class Counts(msgspec.Struct):
    """What the ingest run adds up from each answer (the per-record verdicts are skipped over)."""

    accepted: int
    duplicate: int
    rejected: int


def token(*roles: str) -> dict[str, str]:
    jwt = mint_token(os.environ.get("OPC_JWT_SECRET", DEFAULT_JWT_SECRET), sub="bench", district="*", roles=list(roles))
    return {"Authorization": f"Bearer {jwt}"}


async def setup_vendor(client: httpx.AsyncClient) -> dict:
    got = await client.post("/v1/vendors", json={"name": "压测算力", "uscc": new_uscc(), "kind": "both"}, headers=token("admin"))
    vendor = got.json()
    for body in (
        {"kind": "gpu", "resource": "A800", "effective_from": "2020-01-01T00:00:00Z", "fen_per_gpu_hour": "1200"},
        {"kind": "tokens", "resource": "qwen-max", "effective_from": "2020-01-01T00:00:00Z", "fen_per_m_input": "240",
         "fen_per_m_cached_input": "60", "fen_per_m_output": "960"},
    ):  # fmt: skip
        (await client.post(f"/v1/vendors/{vendor['id']}/prices", json=body, headers=token("admin"))).raise_for_status()
    return vendor


def make_records(n: int, buyers: list[str], start: datetime) -> list[dict]:
    out = []
    for i in range(n):
        at = start + timedelta(seconds=i % 86_400)
        buyer = buyers[i % len(buyers)]
        out.append(gpu(buyer, at=at, seconds=600, amount=200) if i % 2 else tokens(buyer, at=at, amount=720))
    return out


def with_duplicates(records: list[dict], share: float, batch: int) -> list[list[dict]]:
    """Batches where ``share`` of the records were sent in an earlier batch (a retry under a new webhook-id)."""
    fresh_per_batch = max(1, int(batch * (1 - share)))
    batches, sent = [], []
    for i in range(0, len(records), fresh_per_batch):
        fresh = records[i : i + fresh_per_batch]
        repeats = batch - len(fresh) if len(fresh) == fresh_per_batch else 0  # none in a short last batch
        batches.append(fresh + sent[max(0, len(sent) - repeats) :] if repeats else fresh)
        sent.extend(fresh)
    return batches


async def run_concurrent(jobs: list, concurrency: int, send) -> float:
    queue: asyncio.Queue = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)

    async def worker() -> None:
        while not queue.empty():
            await send(queue.get_nowait())

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def ingest_run(server: Server, args: argparse.Namespace, dsn: str) -> dict:
    async with httpx.AsyncClient(base_url=server.url, timeout=120) as client:
        vendor = await setup_vendor(client)
        buyers = [new_uscc() for _ in range(100)]
        conn = await asyncpg.connect(dsn)
        try:  # the buyers are registered firms (as most are): records are attributed as they arrive
            await conn.executemany(
                "INSERT INTO ledger.firm_accounts (firm_id, firm_name, district, status, registered_at, uscc, city) "
                "VALUES ($1, '压测企业', 'wuhou', 'open', now(), $2, 'chengdu')",
                [(uuid.uuid4(), b) for b in buyers],
            )
        finally:
            await conn.close()
        fresh = int(args.records * (1 - args.dup_share))
        records = make_records(fresh, buyers, datetime.now(UTC) - timedelta(days=2))
        batches = with_duplicates(records, args.dup_share, args.batch)
        total = sum(len(b) for b in batches)
        now = datetime.now(UTC)
        # Every call built, signed and serialised before the timed window (a vendor's cost, not the
        # ledger's); the raw side below likewise gets its column arrays ready before its window.
        url = f"http://127.0.0.1:{server.port}/v1/webhooks/vendors/{vendor['id']}"
        calls = []
        for b in batches:
            body = envelope("usage.reported", {"records": b}, now)
            headers = sign(body, f"msg_{uuid.uuid4().hex}", now, vendor["webhook_secret"])
            calls.append(loadgen.encode_request(url, "POST", headers, body))
        outcome = {"accepted": 0, "duplicate": 0, "rejected": 0}
        peak = [0]
        proc = psutil.Process(server.proc.pid)
        sampling = True

        async def sample() -> None:  # the largest worker process (uvicorn's supervisor holds no requests)
            while sampling:
                with contextlib.suppress(psutil.Error):
                    for p in (proc, *proc.children(recursive=True)):
                        peak[0] = max(peak[0], p.memory_info().rss)
                await asyncio.sleep(0.05)

        # The vendor's side of a call reduced to a socket write and read (loadgen: requests built before
        # the window, answers found by Content-Length; httpx cost ~5 ms of client CPU per 1,000 records).
        connections: asyncio.Queue = asyncio.Queue()
        for _ in range(args.concurrency):
            connections.put_nowait(await loadgen.connect("127.0.0.1", server.port, keep_body=True))
        decode_counts = msgspec.json.Decoder(Counts).decode

        async def send(call: bytes) -> None:
            conn = connections.get_nowait()  # one per worker: the run has as many as it has workers
            try:
                status, answer = await conn.send(call)
            finally:
                connections.put_nowait(conn)
            assert status == 200, answer[:2000]
            counts = decode_counts(answer)
            outcome["accepted"] += counts.accepted
            outcome["duplicate"] += counts.duplicate
            outcome["rejected"] += counts.rejected

        # no reset query at each release (a round trip per batch the ledger's side does not pay either)
        conn_pool = await asyncpg.create_pool(dsn, min_size=args.concurrency, max_size=args.concurrency, reset=_keep_session)
        raw_vendor = uuid.uuid4()  # a new vendor per run, as on the ledger's side

        def columns(batch: list[dict]) -> list[list]:
            return [
                [raw_vendor] * len(batch), [r["id"] for r in batch], [r["buyer_uscc"] for r in batch],
                [None] * len(batch), [r["kind"] for r in batch],
                [r.get("gpu_model") or r.get("model") for r in batch],
                [datetime.fromisoformat(r["started_at"]) for r in batch], [datetime.fromisoformat(r["ended_at"]) for r in batch],
                [r.get("gpu_seconds", 0) for r in batch], [r.get("input_tokens", 0) for r in batch],
                [r.get("cached_input_tokens", 0) for r in batch], [r.get("output_tokens", 0) for r in batch],
                [r["amount_fen"] for r in batch], [r["tax_rate_bp"] for r in batch], [None] * len(batch),
            ]  # fmt: skip

        async def raw(job: list[list]) -> None:
            async with conn_pool.acquire() as conn:
                await conn.execute(RAW_INSERT, *job)

        jobs = [columns(b) for b in batches]  # ready before the window, as the ledger's calls are
        # The two sides take turns, slice by slice (the batches in order, ``--slices`` slices a side): this
        # host's speed drifts by tens of per cent within minutes, and two long windows one after the other
        # measured the drift as much as the ledger (ratios of one setup spread 0.34-0.60). Each slice of
        # either side starts settled (``settle``) and is timed on its own; a side's figure is its slices summed.
        seconds = raw_seconds = cpu_app = cpu_pg = cpu_client = raw_pg = raw_client = 0.0
        size = -(-len(calls) // args.slices)
        sampler = asyncio.create_task(sample())
        try:
            for start in range(0, len(calls), size):
                await settle(dsn)
                app0, pg0, client0 = cpu_seconds(server.proc.pid), cpu_seconds(PG_PID[0]), time.process_time()
                seconds += await run_concurrent(calls[start : start + size], args.concurrency, send)
                cpu_app += cpu_seconds(server.proc.pid) - app0
                cpu_pg += cpu_seconds(PG_PID[0]) - pg0
                cpu_client += time.process_time() - client0
                await settle(dsn)
                pg0, client0 = cpu_seconds(PG_PID[0]), time.process_time()
                raw_seconds += await run_concurrent(jobs[start : start + size], args.concurrency, raw)
                raw_pg += cpu_seconds(PG_PID[0]) - pg0
                raw_client += time.process_time() - client0
        finally:
            sampling = False
            await sampler
            await conn_pool.close()
            while not connections.empty():
                connections.get_nowait().close()
    assert outcome["accepted"] == fresh and outcome["rejected"] == 0, outcome
    rate, raw_rate = total / seconds, total / raw_seconds
    return {
        "records": total,
        "duplicates": outcome["duplicate"],
        "ingest_records_per_s": rate,
        "raw_records_per_s": raw_rate,
        "ratio": rate / raw_rate,
        "peak_rss_mib": peak[0] / 2**20,
        # CPU per 1,000 records: where the time goes (the service's Python vs PostgreSQL)
        "app_cpu_ms_per_1000": 1000 * cpu_app / total * 1000,
        "pg_cpu_ms_per_1000": 1000 * cpu_pg / total * 1000,
        "raw_pg_cpu_ms_per_1000": 1000 * raw_pg / total * 1000,
        # the benchmark's own CPU (the client of each side: both run on the same cores as the servers)
        "client_cpu_ms_per_1000": 1000 * cpu_client / total * 1000,
        "raw_client_cpu_ms_per_1000": 1000 * raw_client / total * 1000,
    }


async def single_run(server: Server, trivial: Server, args: argparse.Namespace) -> dict:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        vendor = await setup_vendor(client)
    buyer = new_uscc()

    async def hammer(url: str, make) -> float:
        count = 0
        stop_at = time.perf_counter() + args.single_seconds
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=args.single_concurrency)) as client:

            async def worker() -> None:
                nonlocal count
                while time.perf_counter() < stop_at:
                    body, headers = make()
                    got = await client.post(url, content=body, headers=headers)
                    assert got.status_code == 200, got.text
                    count += 1

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(args.single_concurrency)))
            return count / (time.perf_counter() - started)

    def ledger_call():
        now = datetime.now(UTC)
        body = envelope("usage.reported", {"records": [gpu(buyer, at=now - timedelta(hours=1))]}, now)
        return body, sign(body, f"msg_{uuid.uuid4().hex}", now, vendor["webhook_secret"])

    def trivial_call():
        body, headers = ledger_call()  # the same client work: build, sign, send
        return body, headers

    ledger_rate = await hammer(f"{server.url}/v1/webhooks/vendors/{vendor['id']}", ledger_call)
    trivial_rate = await hammer(f"{trivial.url}/v1/trivial", trivial_call)
    return {"webhook_requests_per_s": ledger_rate, "trivial_requests_per_s": trivial_rate, "ratio": ledger_rate / trivial_rate}


FILL_FIRM = """
WITH firm AS (
    INSERT INTO ledger.firm_accounts (firm_id, firm_name, district, status, registered_at, uscc, city)
    VALUES ($1, '压测企业', 'wuhou', 'open', now(), $2, 'chengdu') RETURNING firm_id
), rows AS (
    SELECT nextval('ledger.usage_id_seq') AS usage_id, g,
           $4::timestamptz + (g % (29 * 86400)) * interval '1 second' AS started_at
    FROM generate_series(1, $3::int) g
), keys AS (
    INSERT INTO ledger.usage_keys (record_key, body_hash, started_at, usage_id)
    SELECT decode(md5($1::text || g), 'hex'), decode(md5(g::text), 'hex'), started_at, usage_id FROM rows
)
INSERT INTO ledger.usage (usage_id, started_at, ended_at, vendor_id, record_id, firm_id, buyer_uscc, kind, resource,
    gpu_seconds, input_tokens, cached_input_tokens, output_tokens, amount_fen, tax_rate_bp, rated_fen, over_quota,
    booked_period, received_at)
SELECT usage_id, started_at, started_at + interval '10 minutes', $5, 'bench-' || g, (SELECT firm_id FROM firm), $2,
       CASE WHEN g % 2 = 0 THEN 'gpu' ELSE 'tokens' END, CASE WHEN g % 2 = 0 THEN 'A800' ELSE 'qwen-max' END,
       CASE WHEN g % 2 = 0 THEN 600 ELSE 0 END, CASE WHEN g % 2 = 0 THEN 0 ELSE 1000000 END, 0,
       CASE WHEN g % 2 = 0 THEN 0 ELSE 500000 END, 200, 600, 200, false, $6, now()
FROM rows
"""


async def query_run(server: Server, args: argparse.Namespace, dsn: str, firm: dict) -> dict:
    async with httpx.AsyncClient(base_url=server.url, timeout=120) as client:
        finance = token("finance")
        timings: dict[str, list[float]] = {"statement": [], "meters_day": [], "meters_month": []}
        paths = {
            "statement": (f"/v1/firms/{firm['id']}/statement", {"month": firm["month"]}),
            "meters_day": (f"/v1/firms/{firm['id']}/meters", {"month": firm["month"], "granularity": "day"}),
            "meters_month": (f"/v1/firms/{firm['id']}/meters", {"month": firm["month"], "granularity": "month"}),
        }
        for _ in range(args.queries):
            for name, (path, params) in paths.items():
                started = time.perf_counter()
                got = await client.get(path, params=params, headers=finance)
                timings[name].append((time.perf_counter() - started) * 1000)
                got.raise_for_status()
        check = (await client.get(paths["statement"][0], params=paths["statement"][1], headers=finance)).json()
        assert sum(u["records"] for u in check["usage"]) == args.firm_records, "statement must cover every record"
    return {f"{name}_p50_ms": percentile(v, 0.5) for name, v in timings.items()} | {
        f"{name}_p95_ms": percentile(v, 0.95) for name, v in timings.items()
    }


async def fill_firm(dsn: str, server: Server, args: argparse.Namespace) -> dict:
    month_start = datetime(2026, 10, 1, tzinfo=UTC) - timedelta(hours=8)
    firm = {"id": uuid.uuid4(), "uscc": new_uscc(), "month": "2026-10"}
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        vendor = await setup_vendor(client)
        # make sure the month's partition exists (the ingest path creates it on first use)
        now = datetime.now(UTC)
        body = envelope("usage.reported", {"records": [gpu(new_uscc(), at=month_start + timedelta(days=1))]}, now)
        headers = sign(body, f"msg_{uuid.uuid4().hex}", now, vendor["webhook_secret"])
        (await client.post(f"/v1/webhooks/vendors/{vendor['id']}", content=body, headers=headers)).raise_for_status()
    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        await conn.execute(
            FILL_FIRM, firm["id"], firm["uscc"], args.firm_records, month_start, uuid.UUID(vendor["id"]), "2026-10"
        )
        await conn.execute("ANALYZE ledger.usage")
        print(f"  filled {args.firm_records:,} records for one firm in {time.perf_counter() - started:.1f} s", flush=True)
    finally:
        await conn.close()
    return firm


def median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


async def main_async(args: argparse.Namespace, infra: Infra, root: Path) -> dict:
    env = infra.env()
    PG_PID[0] = infra.pg.proc.pid if infra.pg is not None and infra.pg.proc is not None else None
    ADMIN_DSN[0] = infra.pg.admin_dsn if infra.pg is not None else None
    env["OPC_COMPUTE_LEDGER_RUN_CONSUMERS"] = "false"
    dsn = asyncpg_dsn(env["OPC_COMPUTE_LEDGER_DATABASE_URL"])
    (root / "trivial_app.py").write_text(TRIVIAL_APP)
    ledger = Server(env, "compute_ledger.main:create", root / "ledger.log", workers=args.workers)
    trivial = Server(env, "trivial_app:create", root / "trivial.log", extra_path=root, workers=args.workers)
    ledger.start()
    trivial.start()
    # The limit's table is made once and keeps every run's rows, as the ledger's tables keep theirs: run k of
    # either side inserts into tables holding the k-1 earlier runs' records.
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(RAW_TABLE)
    finally:
        await conn.close()
    try:
        ingest, single, queries = [], [], []
        for run in range(1, 0 if args.skip_ingest else args.runs + 1):
            ingest.append(await ingest_run(ledger, args, dsn))
            print(f"  run {run} ingest: {json.dumps({k: round(v, 2) for k, v in ingest[-1].items()})}", flush=True)
            single.append(await single_run(ledger, trivial, args))
            print(f"  run {run} single: {json.dumps({k: round(v, 2) for k, v in single[-1].items()})}", flush=True)
        firm = await fill_firm(dsn, ledger, args)
        for run in range(1, args.runs + 1):
            queries.append(await query_run(ledger, args, dsn, firm))
            print(f"  run {run} queries: {json.dumps({k: round(v, 1) for k, v in queries[-1].items()})}", flush=True)
    finally:
        ledger.stop()
        trivial.stop()
    return {"ingest": ingest, "single": single, "queries": queries}


def report(results: dict, args: argparse.Namespace) -> None:
    ingest, single, queries = results["ingest"], results["single"], results["queries"]
    if not ingest:
        print(json.dumps({k: round(median(queries, k), 1) for k in queries[0]}, indent=2))
        return
    rows = [
        ("batch ingest (1,000-record signed calls)", f"{median(ingest, 'ingest_records_per_s'):,.0f} records/s",
         f"raw INSERT … ON CONFLICT: {median(ingest, 'raw_records_per_s'):,.0f} records/s",
         f"{median(ingest, 'ratio'):.2f}", "≥ 0.5"),
        ("single-record signed webhooks", f"{median(single, 'webhook_requests_per_s'):,.0f} req/s",
         f"trivial FastAPI endpoint: {median(single, 'trivial_requests_per_s'):,.0f} req/s",
         f"{median(single, 'ratio'):.2f}", "≥ 0.5"),
        (f"firm statement, {args.firm_records:,} records", f"p95 {median(queries, 'statement_p95_ms'):,.0f} ms",
         f"p50 {median(queries, 'statement_p50_ms'):,.0f} ms", "", ""),
        ("monthly meter, day buckets", f"p95 {median(queries, 'meters_day_p95_ms'):,.0f} ms",
         f"p50 {median(queries, 'meters_day_p50_ms'):,.0f} ms", "", ""),
        ("monthly meter, month bucket", f"p95 {median(queries, 'meters_month_p95_ms'):,.0f} ms",
         f"p50 {median(queries, 'meters_month_p50_ms'):,.0f} ms", "", ""),
        ("peak RSS of the ledger during ingest", f"{max(r['peak_rss_mib'] for r in ingest):,.0f} MiB", "", "", ""),
        ("CPU per 1,000 records: ledger processes", f"{median(ingest, 'app_cpu_ms_per_1000'):,.0f} ms",
         f"PostgreSQL {median(ingest, 'pg_cpu_ms_per_1000'):,.0f} ms "
         f"(raw insert: {median(ingest, 'raw_pg_cpu_ms_per_1000'):,.0f} ms)",
         "", ""),
        ("CPU per 1,000 records: benchmark client", f"{median(ingest, 'client_cpu_ms_per_1000'):,.1f} ms",
         f"raw insert client {median(ingest, 'raw_client_cpu_ms_per_1000'):,.1f} ms", "", ""),
    ]  # fmt: skip
    print(f"\nCompute-ledger benchmark: medians of {args.runs} run(s), {args.records:,} records per ingest run, "
          f"{args.workers} uvicorn worker(s) for the ledger and the trivial app, "
          f"({args.dup_share:.0%} duplicates), concurrency {args.concurrency}/{args.single_concurrency}, "
          f"{os.cpu_count()} cores, PostgreSQL {'durable' if args.durable else 'throw-away (fsync off)'}\n")  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    header = ("measurement", "figure", "limit in the same run", "ratio", "target")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    for row in (header, tuple("-" * w for w in widths), *rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for name in ("OPC_DATABASE_URL", "OPC_KAFKA_BOOTSTRAP_SERVERS"):
        os.environ.pop(name, None)
    root = Path(tempfile.mkdtemp(prefix="opc-ledger-bench-"))
    infra = Infra(root / "infra", durable=args.durable)
    infra.start(progress=lambda m: print(f"  {m}", flush=True))
    try:
        results = asyncio.run(main_async(args, infra, root))
    finally:
        infra.stop()
    report(results, args)
    if not args.no_json:
        out = Path(__file__).resolve().parent / "results" / f"ledger-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
        out.parent.mkdir(exist_ok=True)
        doc = {"durable_postgres": args.durable, "runs": results, "summary": summary(results, args)}
        out.write_text(json.dumps(doc, indent=2, default=str))
        print(f"results: {out}")
    return 0


def summary(results: dict, args: argparse.Namespace) -> list[dict]:
    """The rows ``tests/bench/bench.py`` prints in the ``make bench`` summary."""
    ingest, single, queries = results["ingest"], results["single"], results["queries"]
    if not ingest:
        return []
    ratio_i, ratio_s = median(ingest, "ratio"), median(single, "ratio")
    return [
        {"metric": "ledger batch ingest (records/s)", "value": f"{median(ingest, 'ingest_records_per_s'):,.0f}",
         "limit": f"raw INSERT {median(ingest, 'raw_records_per_s'):,.0f}/s", "ratio": ratio_i, "target": "≥ 0.5",
         "ok": "yes" if ratio_i >= 0.5 else "no"},
        {"metric": "ledger single-record webhooks (req/s)", "value": f"{median(single, 'webhook_requests_per_s'):,.0f}",
         "limit": f"trivial {median(single, 'trivial_requests_per_s'):,.0f}/s", "ratio": ratio_s, "target": "≥ 0.5",
         "ok": "yes" if ratio_s >= 0.5 else "no"},
        {"metric": f"ledger statement p95, {args.firm_records:,} records",
         "value": f"{median(queries, 'statement_p95_ms'):,.0f} ms",
         "limit": "", "ratio": None, "target": "", "ok": ""},
        {"metric": "ledger monthly meter (day buckets) p95", "value": f"{median(queries, 'meters_day_p95_ms'):,.0f} ms",
         "limit": "", "ratio": None, "target": "", "ok": ""},
        {"metric": "ledger peak RSS during ingest", "value": f"{max(r['peak_rss_mib'] for r in ingest):,.0f} MiB",
         "limit": "", "ratio": None, "target": "", "ok": ""},
    ]  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
