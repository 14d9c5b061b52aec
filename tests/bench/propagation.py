#!/usr/bin/env python
"""Event propagation benchmark: registry commit → outbox → relay → Kafka → subsidy inbox → effect committed.

Run with ``make bench`` (``.venv/bin/python tests/bench/propagation.py``); ``--help`` lists the options.

It starts its own embedded PostgreSQL and the broker ``OPC_DEV_BROKER`` names (noida or Tansu), via
``opc_devstack.infra.Infra`` (non-durable), in a temporary directory and measures, ``--runs`` times:

1. **Propagation latency** at a sustained offered rate (default 1,000 events/s for 30 s). This process is
   the registry's write side: it writes what licence issuance writes in a ``UnitOfWork`` (firm row +
   one ``FirmRegisteredV1`` outbox row + NOTIFY per transaction), launched on an absolute schedule. The
   real relay (``python -m registry relay``) and the real subsidy consumer (``python -m subsidy consume``,
   which opens a row in ``subsidy.accounts``) run as separate processes, as in production.

   Latency = commit time of the consumer's transaction − commit time of the producer's transaction, both
   read after the run from PostgreSQL's own commit timestamps (``track_commit_timestamp``, enabled by the
   benchmark) via ``pg_xact_commit_timestamp(xmin)`` of ``registry.firms`` and ``subsidy.accounts`` rows.
   One clock, true commit to true commit. The figures are compared with DESIGN.md's targets
   (p50 ≤ 20 ms, p99 ≤ 100 ms). Events of the first ``--warmup`` seconds are not counted. The run also
   splits the latency into stages (relay / broker+consumer queue / consumer transaction), records the
   CPU each process spent per event, and flags runs where the producer could not keep the offered
   rate or the consumer fell behind (then the figures are mostly queueing).

2. **Relay throughput vs the raw producer**: N outbox rows are written through ``UnitOfWork`` with no relay
   running, then drained by the real ``OutboxRelay.drain`` (batches read, sent, acknowledged, marked sent)
   into a fresh topic; the same N records (same keys, values, headers) are then sent by a bare aiokafka
   producer built by the same ``make_producer`` into another fresh topic of the same partition count.
   The ratio relay/raw is the figure (DESIGN.md: ≥ 0.7).

The broker is restarted empty before each measurement (``--keep-broker`` to skip): both brokers slow
down as their topics fill, which would make later runs pay for earlier ones. The final table
shows medians over the runs; a JSON file with every figure goes to ``tests/bench/results/`` (and a PNG
histogram, matplotlib being a dev dependency). Everything started is stopped on exit, on Ctrl-C and
on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import asyncpg
import psutil
from sqlalchemy import insert

from opc_devstack import procs
from opc_devstack.infra import DATABASE, TOPICS, Infra
from opc_shared.clock import SystemClock
from opc_shared.contracts import FirmRegisteredV1
from opc_shared.db import Database, UnitOfWork, asyncpg_dsn, catalogued_event, outbox_row
from opc_shared.events import kafka_headers
from opc_shared.kafka import ensure_topics, make_producer
from opc_shared.relay import OutboxRelay
from registry.adapters.tables import firms
from registry.adapters.tables import metadata as registry_metadata
from registry.settings import RegistrySettings

HERE = Path(__file__).resolve().parent
RESULTS_DIR = HERE / "results"

P50_TARGET_MS = 20.0  # DESIGN.md "Performance targets"
P99_TARGET_MS = 100.0
RELAY_RATIO_TARGET = 0.7  # DESIGN.md: relay ≥ 70 % of the raw producer rate to the same broker
WORKER_CPU_TARGET_MS = 0.5  # DESIGN.md: relay + consumer ≤ 0.5 ms of CPU per event
BENCH_PARTITIONS = 6  # same as the service topics (opc_devstack.infra.TOPICS)
DISTRICT = "wuhou"


# --------------------------------------------------------------------------------------------- options


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Event propagation latency (registry → subsidy) and relay throughput on an embedded stack."
    )
    p.add_argument("--quick", action="store_true", help="smoke run: 5 s, 1 run, 5,000 relay events (explicit options still win)")
    p.add_argument("--duration", type=float, default=None, help="measured seconds of sustained load per run [30; quick 5]")
    p.add_argument("--rate", type=float, default=1000.0, help="offered events per second [1000]")
    p.add_argument("--warmup", type=float, default=None, help="seconds at full rate before the measured window [3; quick 1]")
    p.add_argument("--runs", type=int, default=None, help="repetitions of both measurements [3; quick 1]")
    p.add_argument("--relay-events", type=int, default=None, help="outbox rows for the relay throughput test [20000; quick 5000]")
    p.add_argument("--events-per-tx", type=int, default=1, help="events committed per producer transaction [1 = one per request]")
    p.add_argument(
        "--producer",
        choices=("lean", "uow"),
        default="lean",
        help="lean: one statement per event on asyncpg (the load generator leaves the CPU to the pipeline); "
        "uow: the service's UnitOfWork (~1.2 ms CPU a transaction) [lean]",
    )
    p.add_argument("--concurrency", type=int, default=16, help="producer transactions in flight at most (= its pool size) [16]")
    p.add_argument("--progress-every", type=float, default=3.0, help="seconds between progress lines [3]")
    p.add_argument("--drain-timeout", type=float, default=120.0, help="seconds to wait for the consumer to catch up [120]")
    p.add_argument(
        "--keep-broker",
        action="store_true",
        help="do not restart the broker empty before each measurement (shows Tansu slowing as topics fill)",
    )
    p.add_argument("--skip-latency", action="store_true", help="only the relay throughput test")
    p.add_argument("--skip-throughput", action="store_true", help="only the propagation latency test")
    p.add_argument(
        "--worker-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the relay/consumer processes, e.g. OPC_KAFKA_FETCH_MAX_WAIT_MS=1 (repeatable)",
    )
    p.add_argument("--profile", action="store_true", help="py-spy the relay and the consumer during run 1 (tests/bench/results/)")
    p.add_argument("--keep-temp", action="store_true", help="keep the temporary directory (database, broker and worker logs)")
    p.add_argument("--no-json", action="store_true", help="do not write the results JSON / PNG")
    args = p.parse_args(argv)
    quick_defaults = {"duration": (30.0, 5.0), "warmup": (3.0, 1.0), "runs": (3, 1), "relay_events": (20_000, 5_000)}
    for name, (full, quick) in quick_defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    if args.runs < 1 or args.duration <= 0 or args.rate <= 0 or args.relay_events < 1:
        p.error("--runs, --duration, --rate and --relay-events must be positive")
    for item in args.worker_env:
        if "=" not in item:
            p.error(f"--worker-env needs KEY=VALUE, got {item!r}")
    return args


# ----------------------------------------------------------------------------------------------- stats


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); ``sorted_values`` must be sorted."""
    if not sorted_values:
        return float("nan")
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def describe(values_ms: list[float]) -> dict[str, float]:
    v = sorted(values_ms)
    return {
        "n": len(v),
        "min": v[0] if v else float("nan"),
        "p50": percentile(v, 50),
        "p95": percentile(v, 95),
        "p99": percentile(v, 99),
        "max": v[-1] if v else float("nan"),
        "mean": statistics.fmean(v) if v else float("nan"),
    }


def median_of(runs: list[dict[str, Any]], *path: str) -> float:
    values = []
    for run in runs:
        value: Any = run
        for key in path:
            value = value[key]
        values.append(value)
    return statistics.median(values)


HIST_EDGES_MS = [0, 5, 10, 15, 20, 30, 50, 100, 200, 500, 1000, float("inf")]


def histogram(values_ms: list[float]) -> list[tuple[str, int]]:
    counts = [0] * (len(HIST_EDGES_MS) - 1)
    for v in values_ms:
        for i in range(len(counts)):
            if v < HIST_EDGES_MS[i + 1]:
                counts[i] += 1
                break
    labels = [f"{lo:g}–{hi:g}" if hi != float("inf") else f"≥ {lo:g}" for lo, hi in itertools.pairwise(HIST_EDGES_MS)]
    return list(zip(labels, counts, strict=True))


# ------------------------------------------------------------------------------------------- the stack


class Stack:
    """One embedded PostgreSQL + Kafka-protocol broker for the whole benchmark, with commit timestamps on."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.infra = Infra(root / "infra", durable=False)

    def start(self) -> None:
        self.infra.start(progress=lambda msg: print(f"  {msg}", flush=True))
        # Commit timestamps let us read true commit times of both sides from one clock after the run.
        # The setting needs a server restart; the data directory (and its migrations) survives it.
        asyncio.run(_admin_execute(self.infra.admin_dsn, "ALTER SYSTEM SET track_commit_timestamp = on"))
        assert self.infra.pg is not None
        self.infra.pg.stop()
        self.infra.pg.start()

    def stop(self) -> None:
        self.infra.stop()

    async def fresh_broker(self) -> None:
        """Restart the embedded broker empty, topics recreated. Tansu's memory storage gets slower as a topic
        fills (measured: ×4 CPU per record after 200k records), so without this later runs would pay for
        earlier ones. Spawned from this (main) thread on purpose: procs.spawn's die-with-parent is per thread."""
        broker = self.infra.broker
        assert broker is not None
        broker.stop()
        broker.start(fresh=True)
        await ensure_topics(self.bootstrap, TOPICS)

    @property
    def db_dsn(self) -> str:
        """Superuser DSN on the services' database (reaches every schema)."""
        assert self.infra.admin_dsn is not None
        return self.infra.admin_dsn.rsplit("/", 1)[0] + f"/{DATABASE}"

    @property
    def bootstrap(self) -> str:
        return self.infra.bootstrap

    def registry_settings(self, **overrides: Any) -> RegistrySettings:
        return RegistrySettings(database_url=self.infra.urls["registry"], kafka_bootstrap_servers=self.bootstrap, **overrides)

    def worker_env(self, extra: list[str]) -> dict[str, str]:
        env = self.infra.env()
        env["OPC_LOG_LEVEL"] = env.get("OPC_LOG_LEVEL", "WARNING")
        env.update(item.split("=", 1) for item in extra)
        return env


async def _admin_execute(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class WorkerProcesses:
    """The registry relay and the subsidy consumer as their own processes (``python -m <svc> relay|consume``)."""

    COMMANDS: ClassVar[dict[str, list[str]]] = {
        "registry-relay": ["registry", "relay"],
        "subsidy-consumer": ["subsidy", "consume"],
    }

    def __init__(self, env: dict[str, str], log_dir: Path, tag: str) -> None:
        self.env = env
        self.log_dir = log_dir
        self.tag = tag
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name, argv in self.COMMANDS.items():
            with open(self.log_path(name), "ab") as log:
                # procs.spawn: own session (a terminal's Ctrl-C reaches only us) and death with this process.
                self.procs[name] = procs.spawn([sys.executable, "-m", *argv], env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}-{self.tag}.log"

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with code {proc.returncode}:\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path(name).read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        for proc in self.procs.values():  # graceful: the CLI sets its stop event; signal both, then wait
            with contextlib.suppress(ProcessLookupError):
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self.procs.clear()


class CpuMeter:
    """CPU seconds used by each part of the pipeline between :meth:`start` and :meth:`stop`."""

    def __init__(self, stack: Stack, workers: WorkerProcesses) -> None:
        self.parts: dict[str, psutil.Process] = {"producer (this process)": psutil.Process()}
        for name, proc in workers.procs.items():
            self.parts[name] = psutil.Process(proc.pid)
        if stack.infra.broker is not None and stack.infra.broker.proc is not None:
            self.parts[f"{stack.infra.broker.kind} broker"] = psutil.Process(stack.infra.broker.proc.pid)
        if stack.infra.pg is not None and stack.infra.pg.proc is not None:
            self.parts["postgres (all backends)"] = psutil.Process(stack.infra.pg.proc.pid)
        self._start: dict[str, float] = {}
        self._machine_start = 0.0
        self._t0 = 0.0
        self.seconds: dict[str, float] = {}
        self.other_seconds = 0.0
        self.wall_s = 0.0

    @staticmethod
    def _cpu(proc: psutil.Process, with_children: bool) -> float:
        try:
            t = proc.cpu_times()
            total = t.user + t.system
            if with_children:  # postgres: live backends, plus what exited backends left in children_*
                total += t.children_user + t.children_system
                for child in proc.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        ct = child.cpu_times()
                        total += ct.user + ct.system
            return total
        except psutil.Error:
            return 0.0

    def _sample(self) -> dict[str, float]:
        return {name: self._cpu(proc, name.startswith("postgres")) for name, proc in self.parts.items()}

    @staticmethod
    def _machine_busy() -> float:
        t = psutil.cpu_times()
        return sum(t) - t.idle - getattr(t, "iowait", 0.0) - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)

    def start(self) -> None:
        self._start = self._sample()
        self._machine_start = self._machine_busy()
        self._t0 = time.monotonic()

    def stop(self) -> None:
        self.wall_s = time.monotonic() - self._t0
        end = self._sample()
        self.seconds = {name: max(0.0, end[name] - self._start[name]) for name in self.parts}
        # Whatever else ran on the machine meanwhile (other test runs, …): noise the figures carry.
        others = self._machine_busy() - self._machine_start - sum(self.seconds.values())
        self.other_seconds = max(0.0, others)

    def report(self, events: int) -> dict[str, Any]:
        """Per part: CPU seconds, CPU ms per event, share of the machine; and the rate the machine could
        sustain at this cost per event if every core did nothing else (``ceiling_events_per_s``)."""
        cores = os.cpu_count() or 1

        def figures(cpu_s: float) -> dict[str, float]:
            return {
                "cpu_s": cpu_s,
                "ms_per_event": 1000 * cpu_s / max(events, 1),
                "pct_of_machine": 100 * cpu_s / max(self.wall_s * cores, 1e-9),
            }

        parts = {name: figures(cpu_s) for name, cpu_s in self.seconds.items()}
        total = sum(self.seconds.values())
        parts["total (this pipeline)"] = figures(total)
        parts["other processes (noise)"] = figures(self.other_seconds)
        return {
            "wall_s": self.wall_s,
            "cores": cores,
            "parts": parts,
            "ceiling_events_per_s": cores * events / total if total else 0.0,
        }


# ------------------------------------------------------------------------------------ 1. propagation


@dataclass
class ProducerStats:
    committed: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    #: firm id → (sequence number, wall-clock time.time() right after commit returned)
    commits: dict[str, tuple[int, float]] = field(default_factory=dict)
    start_lag_s: list[float] = field(default_factory=list)  # launch time − scheduled time
    tx_s: list[float] = field(default_factory=list)  # launch → commit returned
    first_scheduled_wall: float = 0.0
    last_commit_wall: float = 0.0


async def register_firm(uow: UnitOfWork, *, now: datetime, name: str, founder_name: str) -> dict:
    """What licence issuance writes that other services care about: the firm row and firm.registered."""
    firm_id = uuid.uuid4()
    await uow.session.execute(
        insert(firms).values(
            id=firm_id, name=name, district=DISTRICT, founder_name=founder_name, registered_at=now, created_by="bench"
        )
    )
    uow.publish(FirmRegisteredV1(firm_id=firm_id, name=name, district=DISTRICT, founder_name=founder_name, registered_at=now))
    return {"id": firm_id}


class UowWriter:
    """Registry transactions written the way the service writes them: ``UnitOfWork`` (SQLAlchemy session,
    the subject's number, the outbox insert, BEGIN/COMMIT): five round trips and ~1.2 ms of CPU per
    transaction here, so a producer of this kind cannot offer 1,000 events/s beside the pipeline it feeds."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.clock = SystemClock()

    async def commit(self, names: list[str]) -> list[uuid.UUID]:
        async with self.db.uow() as uow:
            made = [await register_firm(uow, now=self.clock.now(), name=n, founder_name="Bench Founder") for n in names]
            await uow.commit()
        return [firm["id"] for firm in made]

    async def close(self) -> None:
        await self.db.dispose()


async def keep_session(conn: asyncpg.Connection) -> None:
    """A pool's ``reset`` for connections whose session state nothing changes: nothing to run."""


class LeanWriter:
    """The same rows in one round trip per event: the firm, the subject's next number and the outbox row
    (the envelope built by ``catalogued_event``/``outbox_row`` as ``UnitOfWork`` builds it, numbered in SQL)
    in one statement, which PostgreSQL runs as one transaction. The outbox insert fires the same NOTIFY.
    A load generator that leaves the two cores to the pipeline it measures."""

    STATEMENT = """
        WITH firm AS (
            INSERT INTO registry.firms (id, name, district, founder_name, registered_at, created_by)
            VALUES ($1, $2, $3, $4, $5, 'bench')
        ), seq AS (
            INSERT INTO registry.subject_sequences AS s (subject, last_seq) VALUES ($6, 1)
            ON CONFLICT (subject) DO UPDATE SET last_seq = s.last_seq + 1 RETURNING last_seq
        )
        INSERT INTO registry.outbox (event_id, event_type, topic, key, payload, headers)
        SELECT $7, $8, $9, $6, jsonb_set($10::jsonb, '{subjectseq}', to_jsonb(seq.last_seq)), $11::jsonb FROM seq
    """

    def __init__(self, settings: RegistrySettings, pool: asyncpg.Pool) -> None:
        self.settings = settings
        self.pool = pool
        self.clock = SystemClock()

    @classmethod
    async def open(cls, settings: RegistrySettings, dsn: str, size: int) -> LeanWriter:
        # reset=: asyncpg's default runs "SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL"
        # at every release, a round trip per event of the producer's and PostgreSQL's CPU; these
        # connections never change session state (an open transaction is still rolled back by asyncpg).
        return cls(settings, await asyncpg.create_pool(dsn, min_size=size, max_size=size, reset=keep_session))

    def _args(self, name: str) -> tuple[Any, ...]:
        now = self.clock.now()
        firm_id = uuid.uuid4()
        contract = FirmRegisteredV1(
            firm_id=firm_id, name=name, district=DISTRICT, founder_name="Bench Founder", registered_at=now
        )
        row = outbox_row(catalogued_event(contract, service_name=self.settings.service_name), contract.topic)
        return (
            firm_id, name, DISTRICT, "Bench Founder", now, row["key"],
            row["event_id"], row["event_type"], row["topic"], json.dumps(row["payload"]), json.dumps(row["headers"]),
        )  # fmt: skip

    async def commit(self, names: list[str]) -> list[uuid.UUID]:
        batch = [self._args(n) for n in names]
        async with self.pool.acquire() as conn:
            if len(batch) == 1:
                await conn.execute(self.STATEMENT, *batch[0])
            else:
                async with conn.transaction():
                    await conn.executemany(self.STATEMENT, batch)
        return [args[0] for args in batch]

    async def close(self) -> None:
        await self.pool.close()


async def produce(
    writer: UowWriter | LeanWriter,
    *,
    tag: str,
    rate: float,
    seconds: float,
    concurrency: int,
    stats: ProducerStats,
    per_tx: int = 1,
) -> None:
    """Commit registry transactions (firm + FirmRegisteredV1 in the outbox), ``per_tx`` events each, at ``rate`` events/s.

    ``per_tx`` = 1 is a request-per-event producer (the registry's HTTP path); larger values model
    producers that commit many events at once (the ledger's batch ingest, bulk imports).

    Paced by an absolute schedule (event i is due at t0 + i/rate, no sleep drift): a late launch is
    followed by immediate ones until the schedule is caught up. At most ``concurrency`` transactions are
    in flight; when that many are stuck the producer falls behind. Nothing is launched after
    t0 + ``seconds``, so a saturated run offers fewer events than rate × seconds (see achieved rate)."""
    slots = asyncio.Semaphore(concurrency)
    in_flight: set[asyncio.Task[None]] = set()
    loop = asyncio.get_running_loop()

    async def one(seq: int) -> None:
        launched = loop.time()
        try:
            firm_ids = await writer.commit([f"bench {tag} {seq * per_tx + j}" for j in range(per_tx)])
            now = time.time()
            stats.tx_s.append(loop.time() - launched)
            for j, firm_id in enumerate(firm_ids):
                stats.commits[str(firm_id)] = (seq * per_tx + j, now)
            stats.committed += per_tx
            stats.last_commit_wall = max(stats.last_commit_wall, now)
        except Exception as exc:  # noqa: BLE001 - counted and reported, the run goes on
            stats.failed += 1
            if len(stats.errors) < 5:
                stats.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            slots.release()

    t0 = loop.time() + 0.05
    stats.first_scheduled_wall = time.time() + 0.05
    deadline = t0 + seconds
    for seq in itertools.count():
        due = t0 + seq * per_tx / rate
        if due >= deadline:
            break
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        await slots.acquire()
        if loop.time() >= deadline:
            slots.release()
            break
        stats.start_lag_s.append(loop.time() - due)
        task = asyncio.create_task(one(seq))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    if in_flight:
        await asyncio.gather(*in_flight)


async def count_progress(conn: asyncpg.Connection, like: str) -> tuple[int, int]:
    """(unsent outbox rows of the registry, subsidy accounts opened for this run)."""
    backlog = await conn.fetchval("SELECT count(*) FROM registry.outbox WHERE sent_at IS NULL")
    consumed = await conn.fetchval("SELECT count(*) FROM subsidy.accounts WHERE firm_name LIKE $1", like)
    return backlog, consumed


async def report_progress(
    dsn: str, like: str, stats: ProducerStats, workers: WorkerProcesses, every: float, label: str, started: float
) -> None:
    conn = await asyncpg.connect(dsn)  # its own: an asyncpg connection runs one query at a time
    try:
        while True:
            await asyncio.sleep(every)
            workers.check_alive()
            backlog, consumed = await count_progress(conn, like)
            elapsed = time.monotonic() - started
            print(
                f"  [{label}] {elapsed:6.1f}s  committed {stats.committed:>7,}  outbox backlog {backlog:>6,}  "
                f"consumed {consumed:>7,}  behind {stats.committed - consumed:>6,}",
                flush=True,
            )
    finally:
        await conn.close()


async def wait_for_pipeline(
    stack: Stack,
    conn: asyncpg.Connection,
    writer: UowWriter | LeanWriter,
    workers: WorkerProcesses,
    tag: str,
    timeout: float = 90.0,
) -> float:
    """Commit one event and wait until the consumer has applied it (relay leader + consumer group ready)."""
    stats = ProducerStats()
    started = time.monotonic()
    await produce(writer, tag=f"{tag}-handshake", rate=1, seconds=1, concurrency=1, stats=stats)
    if stats.failed:
        raise RuntimeError(f"handshake event not committed: {stats.errors}")
    while time.monotonic() - started < timeout:
        workers.check_alive()
        _, consumed = await count_progress(conn, f"bench {tag}-handshake %")
        if consumed:
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    raise TimeoutError(
        f"the handshake event did not reach subsidy.accounts within {timeout}s\n"
        f"relay log:\n{workers.tail('registry-relay')}\nconsumer log:\n{workers.tail('subsidy-consumer')}"
    )


LATENCY_SQL = """
SELECT f.id::text                                                    AS firm_id,
       EXTRACT(EPOCH FROM pg_xact_commit_timestamp(f.xmin))::float8  AS producer_commit,
       EXTRACT(EPOCH FROM o.sent_at)::float8                         AS relay_marked_sent,
       EXTRACT(EPOCH FROM a.opened_at)::float8                       AS consumer_tx_start,
       EXTRACT(EPOCH FROM pg_xact_commit_timestamp(a.xmin))::float8  AS consumer_commit
FROM registry.firms f
JOIN registry.outbox o ON o.key = f.id::text
LEFT JOIN subsidy.accounts a ON a.firm_id = f.id
WHERE f.name LIKE $1
"""


def latency_figures(rows: list[asyncpg.Record], stats: ProducerStats, measure_from_seq: int) -> dict[str, Any]:
    """Per-event stage times (ms) for events in the measured window (after the warm-up)."""
    total_ms, relay_ms, transit_ms, apply_ms, wall_ms = [], [], [], [], []
    missing = 0
    for r in rows:
        seq, commit_wall = stats.commits.get(r["firm_id"], (-1, 0.0))
        if seq < measure_from_seq:
            continue
        if r["consumer_commit"] is None:
            missing += 1
            continue
        total_ms.append((r["consumer_commit"] - r["producer_commit"]) * 1000)
        relay_ms.append((r["relay_marked_sent"] - r["producer_commit"]) * 1000)
        transit_ms.append((r["consumer_tx_start"] - r["relay_marked_sent"]) * 1000)
        apply_ms.append((r["consumer_commit"] - r["consumer_tx_start"]) * 1000)
        wall_ms.append((r["consumer_commit"] - commit_wall) * 1000)
    return {
        "latency_ms": describe(total_ms),
        "stages_ms": {
            "relay": describe(relay_ms),  # producer commit → relay's mark-sent tx (after broker acks)
            "transit": describe(transit_ms),  # mark-sent → consumer tx start (fetch wait, queue behind earlier records)
            "apply": describe(apply_ms),  # consumer tx start → its commit
        },
        "latency_from_commit_return_ms": describe(wall_ms),
        "missing": missing,
        "samples": total_ms,
    }


def start_profiles(workers: WorkerProcesses, args: argparse.Namespace, tag: str) -> list[tuple[subprocess.Popen, Path]]:
    """py-spy on the relay and the consumer for the whole producing window (``--profile``)."""
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    spies = []
    for name, proc in workers.procs.items():
        path = RESULTS_DIR / f"profile-{name}-{tag}.txt"
        seconds = str(max(1, round(args.warmup + args.duration)))
        cmd = [pyspy, "record", "-p", str(proc.pid), "-d", seconds, "-r", "250", "-o", str(path), "--format", "raw"]
        cmd.append("--nonblocking")
        spies.append((subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT), path))
    return spies


async def propagation_run(stack: Stack, args: argparse.Namespace, run_no: int, log_dir: Path) -> dict[str, Any]:
    tag = f"r{run_no}-{uuid.uuid4().hex[:6]}"
    label = f"latency run {run_no}"
    settings = stack.registry_settings(db_pool_size=args.concurrency, db_max_overflow=0)
    if args.producer == "uow":
        writer: UowWriter | LeanWriter = UowWriter(Database(settings, registry_metadata))
    else:
        writer = await LeanWriter.open(settings, asyncpg_dsn(settings.database_url), args.concurrency)
    conn = await asyncpg.connect(stack.db_dsn)
    workers = WorkerProcesses(stack.worker_env(args.worker_env), log_dir, tag)
    progress: asyncio.Task[None] | None = None
    try:
        workers.start()
        ready_s = await wait_for_pipeline(stack, conn, writer, workers, tag)
        print(
            f"  [{label}] pipeline ready after {ready_s:.1f}s; producing {args.rate:,.0f}/s for "
            f"{args.warmup:g}s warm-up + {args.duration:g}s measured",
            flush=True,
        )
        stats = ProducerStats()
        spies = start_profiles(workers, args, tag) if args.profile and run_no == 1 else []
        cpu = CpuMeter(stack, workers)
        cpu.start()
        started = time.monotonic()
        progress = asyncio.create_task(
            report_progress(stack.db_dsn, f"bench {tag} %", stats, workers, args.progress_every, label, started)
        )
        await produce(
            writer,
            tag=tag,
            rate=args.rate,
            seconds=args.warmup + args.duration,
            concurrency=args.concurrency,
            stats=stats,
            per_tx=args.events_per_tx,
        )
        produce_s = time.monotonic() - started
        deadline = time.monotonic() + args.drain_timeout
        while True:
            if progress.done():
                progress.result()  # a worker died: raise its error
            _, consumed = await count_progress(conn, f"bench {tag} %")
            if consumed >= stats.committed or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        drain_s = time.monotonic() - started - produce_s
        cpu.stop()
        for spy, path in spies:
            spy.wait(60)
            print(f"  [{label}] profile (collapsed stacks): {path}", flush=True)
        workers.stop()  # before reading: every effect that will ever land has landed
        rows = await conn.fetch(LATENCY_SQL, f"bench {tag} %")
        dead_letters = await conn.fetchval("SELECT count(*) FROM subsidy.dead_letters")
    finally:
        if progress is not None:
            progress.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await progress
        workers.stop()
        await writer.close()
        await conn.close()

    # Skip the warm-up's share of the events; a producer that fell behind committed fewer than rate × warm-up.
    measure_from = min(round(args.rate * args.warmup), int(stats.committed * args.warmup / (args.warmup + args.duration)))
    figures = latency_figures(rows, stats, measure_from)
    window_s = stats.last_commit_wall - stats.first_scheduled_wall
    lag = sorted(stats.start_lag_s)
    tx = sorted(stats.tx_s)
    result = {
        "run": run_no,
        "offered_rate": args.rate,
        "achieved_rate": stats.committed / window_s if window_s > 0 else 0.0,
        "committed": stats.committed,
        "failed": stats.failed,
        "producer_errors": stats.errors,
        "measured_events": figures["latency_ms"]["n"],
        "not_consumed": figures["missing"] + (stats.committed - len(rows)),
        "dead_letters_total": dead_letters,
        "produce_s": produce_s,
        "drain_after_produce_s": drain_s,
        "cpu": cpu.report(stats.committed),
        "producer_tx_ms": {"p50": percentile(tx, 50) * 1000, "p99": percentile(tx, 99) * 1000},
        "producer_start_lag_ms": {
            "p50": percentile(lag, 50) * 1000,
            "p99": percentile(lag, 99) * 1000,
            "max": lag[-1] * 1000 if lag else 0.0,
        },
        **figures,
    }
    # Saturated: the producer could not keep the schedule, or the consumer fell more than a second behind.
    result["saturated"] = result["achieved_rate"] < 0.99 * args.rate or drain_s > 1.0
    lat = result["latency_ms"]
    print(
        f"  [{label}] done: {result['measured_events']:,} events measured, achieved {result['achieved_rate']:,.0f}/s, "
        f"p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms, not consumed {result['not_consumed']}",
        flush=True,
    )
    return result


# ------------------------------------------------------------------------------------- 2. throughput


async def prefill_outbox(stack: Stack, n: int, topic: str, tag: str) -> int:
    """Write ``n`` FirmRegisteredV1 events through UnitOfWork (as a service does), then point them at ``topic``.

    Returns the outbox id they start after. Must run with no relay active."""
    db = Database(stack.registry_settings(), registry_metadata)
    conn = await asyncpg.connect(stack.db_dsn)
    try:
        start_after = await conn.fetchval("SELECT coalesce(max(id), 0) FROM registry.outbox")
        now = datetime.now(UTC)
        chunk = 1000
        for first in range(0, n, chunk):
            async with db.uow() as uow:
                for i in range(first, min(first + chunk, n)):
                    uow.publish(
                        FirmRegisteredV1(
                            firm_id=uuid.uuid4(),
                            name=f"bench {tag} {i}",
                            district=DISTRICT,
                            community="Bench Community",
                            founder_name="Bench Founder",
                            registered_at=now,
                        )
                    )
                await uow.commit()
        status = await conn.execute("UPDATE registry.outbox SET topic = $1 WHERE id > $2 AND sent_at IS NULL", topic, start_after)
        if int(status.split()[-1]) != n:
            raise RuntimeError(f"expected {n} fresh outbox rows, found {status}")
        return start_after
    finally:
        await conn.close()
        await db.dispose()


async def _started_producer(settings: RegistrySettings, topic: str):
    producer = make_producer(settings)
    await producer.start()
    await producer.partitions_for(topic)  # metadata fetched before the clock starts
    return producer


async def time_relay(stack: Stack, topic: str) -> tuple[int, float]:
    """Drain the outbox as the running relay does (``OutboxRelay.drain``: batches read, sent, acknowledged
    and marked sent, the next batch read while the previous one's acks are awaited)."""
    settings = stack.registry_settings()
    relay = OutboxRelay(settings)
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    mark_conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))  # as the running relay marks batches sent
    producer = await _started_producer(settings, topic)
    try:
        started = time.perf_counter()
        sent = await relay.drain(conn, producer, mark_conn)
        return sent, time.perf_counter() - started
    finally:
        await producer.stop()
        await mark_conn.close()
        await conn.close()


async def time_raw(stack: Stack, source_topic: str, topic: str, start_after: int) -> tuple[int, float]:
    """Send the same records (key, value and headers as the relay sends them) with a bare producer."""
    settings = stack.registry_settings()
    conn = await asyncpg.connect(stack.db_dsn)
    try:
        rows = await conn.fetch(
            "SELECT event_id::text AS event_id, event_type, payload->>'source' AS source, key, payload::text AS payload, "
            "headers::text AS headers FROM registry.outbox WHERE id > $1 AND topic = $2 ORDER BY id",
            start_after,
            source_topic,
        )
    finally:
        await conn.close()
    records = []
    for row in rows:  # exactly the headers the relay sends (CloudEvents ce_* + traceparent + content-type)
        extra = json.loads(row["headers"])
        headers = kafka_headers(row["event_id"], row["event_type"], row["source"], extra.pop("traceparent", None))
        headers.extend((k, str(v).encode()) for k, v in extra.items())
        records.append((row["key"].encode(), row["payload"].encode(), headers))
    producer = await _started_producer(settings, topic)
    try:
        started = time.perf_counter()
        futures = [await producer.send(topic, value=value, key=key, headers=headers) for key, value, headers in records]
        await asyncio.gather(*futures)
        return len(records), time.perf_counter() - started
    finally:
        await producer.stop()


async def throughput_run(stack: Stack, args: argparse.Namespace, run_no: int) -> dict[str, Any]:
    label = f"throughput run {run_no}"
    tag = f"t{run_no}-{uuid.uuid4().hex[:6]}"
    relay_topic, raw_topic = f"bench.relay.{tag}", f"bench.raw.{tag}"
    await ensure_topics(stack.bootstrap, {relay_topic: BENCH_PARTITIONS, raw_topic: BENCH_PARTITIONS})
    print(f"  [{label}] writing {args.relay_events:,} outbox rows (no relay running) …", flush=True)
    start_after = await prefill_outbox(stack, args.relay_events, relay_topic, tag)

    async def relay() -> tuple[int, float]:
        n, s = await time_relay(stack, relay_topic)
        print(f"  [{label}] relay drained {n:,} in {s:.2f}s = {n / s:,.0f}/s", flush=True)
        return n, s

    async def raw() -> tuple[int, float]:
        n, s = await time_raw(stack, relay_topic, raw_topic, start_after)
        print(f"  [{label}] raw producer sent {n:,} in {s:.2f}s = {n / s:,.0f}/s", flush=True)
        return n, s

    # Alternate which half goes first so warm-up effects (broker, page cache) do not favour one side.
    if run_no % 2:
        (relay_n, relay_s), _, (raw_n, raw_s) = await relay(), await asyncio.sleep(1.0), await raw()
    else:
        (raw_n, raw_s), _, (relay_n, relay_s) = await raw(), await asyncio.sleep(1.0), await relay()
    if relay_n != args.relay_events or raw_n != args.relay_events:
        raise RuntimeError(f"expected {args.relay_events} records each, relay sent {relay_n}, raw sent {raw_n}")
    relay_rate, raw_rate = relay_n / relay_s, raw_n / raw_s
    return {
        "run": run_no,
        "events": relay_n,
        "relay_s": relay_s,
        "raw_s": raw_s,
        "relay_rate": relay_rate,
        "raw_rate": raw_rate,
        "ratio": relay_rate / raw_rate,
    }


# ------------------------------------------------------------------------------------------- reporting


def _ok(value: float, limit: float, *, upper: bool) -> str:
    return "yes" if (value <= limit if upper else value >= limit) else "NO"


def print_latency_runs(runs: list[dict[str, Any]]) -> None:
    print("\nPropagation latency per run — consumer commit − producer commit (PostgreSQL commit timestamps), ms")
    print(
        f"{'run':>4} {'offered/s':>9} {'achieved/s':>10} {'events':>8} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>8} "
        f"{'p50/20':>7} {'p99/100':>8} {'lost':>5}"
    )
    for r in runs:
        lat = r["latency_ms"]
        print(
            f"{r['run']:>4} {r['offered_rate']:>9,.0f} {r['achieved_rate']:>10,.0f} {lat['n']:>8,} {lat['p50']:>7.1f} "
            f"{lat['p95']:>7.1f} {lat['p99']:>7.1f} {lat['max']:>8.1f} {lat['p50'] / P50_TARGET_MS:>7.2f} "
            f"{lat['p99'] / P99_TARGET_MS:>8.2f} {r['not_consumed']:>5}"
        )
    print("\nWhere the time goes (per-event stage times, median of runs, ms)")
    print(f"{'stage':<58} {'p50':>7} {'p95':>7} {'p99':>7}")
    stages = [
        ("relay: producer commit → relay marked it sent (acks in)", ("stages_ms", "relay")),
        ("transit: marked sent → consumer tx start (fetch, queue)", ("stages_ms", "transit")),
        ("apply: consumer tx start → consumer commit", ("stages_ms", "apply")),
        ("total: producer commit → consumer commit", ("latency_ms",)),
        ("cross-check: producer commit returned (wall) → consumer commit", ("latency_from_commit_return_ms",)),
    ]
    for name, path in stages:
        print(f"{name:<58} " + " ".join(f"{median_of(runs, *path, q):>7.1f}" for q in ("p50", "p95", "p99")))
    lag50, lag99 = (median_of(runs, "producer_start_lag_ms", q) for q in ("p50", "p99"))
    tx50, tx99 = (median_of(runs, "producer_tx_ms", q) for q in ("p50", "p99"))
    print(
        f"\nproducer (median of runs): transaction p50 {tx50:.1f} ms, p99 {tx99:.1f} ms; "
        f"launch lag behind schedule p50 {lag50:.1f} ms, p99 {lag99:.1f} ms"
    )
    print(f"\nCPU while producing and draining (median of runs; {runs[0]['cpu']['cores']} cores)")
    print(f"{'process':<28} {'ms CPU/event':>12} {'% of machine':>13}")
    for name in runs[0]["cpu"]["parts"]:
        per_event = median_of(runs, "cpu", "parts", name, "ms_per_event")
        share = median_of(runs, "cpu", "parts", name, "pct_of_machine")
        print(f"{name:<28} {per_event:>12.2f} {share:>12.0f}%")
    ceiling = median_of(runs, "cpu", "ceiling_events_per_s")
    print(f"→ at this CPU cost per event, all cores doing nothing else would carry about {ceiling:,.0f} events/s")
    saturated = [r["run"] for r in runs if r["saturated"]]
    if saturated:
        print(
            f"WARNING: run(s) {saturated} saturated (producer behind schedule or consumer backlog): "
            "latency there is mostly queueing, not the pipeline's own delay"
        )
    pooled = [v for r in runs for v in r["samples"]]
    counts = histogram(pooled)
    peak = max(c for _, c in counts) or 1
    print(f"latency histogram, all runs pooled ({len(pooled):,} events), ms:")
    for label, count in counts:
        print(f"  {label:>10} {count:>8,} {'█' * round(40 * count / peak)}")


def print_throughput_runs(runs: list[dict[str, Any]]) -> None:
    print("\nRelay throughput vs raw producer per run (same records, same make_producer settings, fresh 6-partition topics)")
    print(f"{'run':>4} {'events':>8} {'relay/s':>10} {'raw/s':>10} {'relay/raw':>10}")
    for r in runs:
        print(f"{r['run']:>4} {r['events']:>8,} {r['relay_rate']:>10,.0f} {r['raw_rate']:>10,.0f} {r['ratio']:>10.2f}")


def summary_rows(latency: list[dict[str, Any]], throughput: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if latency:
        offered = latency[0]["offered_rate"]
        achieved = median_of(latency, "achieved_rate")
        rows.append(
            {
                "metric": "achieved producer rate",
                "value": f"{achieved:,.0f}/s",
                "limit": f"offered {offered:,.0f}/s",
                "ratio": achieved / offered,
                "target": "≥ 0.99",
                "ok": _ok(achieved / offered, 0.99, upper=False),
            }
        )
        for q, target in (("p50", P50_TARGET_MS), ("p95", None), ("p99", P99_TARGET_MS)):
            value = median_of(latency, "latency_ms", q)
            rows.append(
                {
                    "metric": f"propagation latency {q}",
                    "value": f"{value:.1f} ms",
                    "limit": f"{target:g} ms (DESIGN)" if target else "— (no target)",
                    "ratio": value / target if target else None,
                    "target": "≤ 1.00" if target else "",
                    "ok": _ok(value, target, upper=True) if target else "",
                }
            )
        workers = statistics.median(
            sum(r["cpu"]["parts"][name]["ms_per_event"] for name in WorkerProcesses.COMMANDS) for r in latency
        )
        rows.append(
            {
                "metric": "relay + consumer CPU per event",
                "value": f"{workers:.2f} ms",
                "limit": f"{WORKER_CPU_TARGET_MS:g} ms (DESIGN)",
                "ratio": workers / WORKER_CPU_TARGET_MS,
                "target": "≤ 1.00",
                "ok": _ok(workers, WORKER_CPU_TARGET_MS, upper=True),
            }
        )
    if throughput:
        relay = median_of(throughput, "relay_rate")
        raw = median_of(throughput, "raw_rate")
        ratio = median_of(throughput, "ratio")
        rows.append(
            {
                "metric": "relay throughput",
                "value": f"{relay:,.0f}/s",
                "limit": f"raw producer {raw:,.0f}/s",
                "ratio": ratio,
                "target": f"≥ {RELAY_RATIO_TARGET:.2f}",
                "ok": _ok(ratio, RELAY_RATIO_TARGET, upper=False),
            }
        )
    return rows


def print_summary(rows: list[dict[str, Any]], runs: int) -> None:
    print(f"\nSummary (medians of {runs} run{'s' if runs > 1 else ''}; each figure as a ratio to its limit)")
    print(f"{'metric':<28} {'value':>12}  {'limit':<26} {'ratio':>6}  {'target':<14} {'ok':<3}")
    print("-" * 96)
    for r in rows:
        ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "—"
        print(f"{r['metric']:<28} {r['value']:>12}  {r['limit']:<26} {ratio:>6}  {r['target']:<14} {r['ok']:<3}")


def environment_info(args: argparse.Namespace) -> dict[str, Any]:
    settings = RegistrySettings()
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "kafka_fetch_max_wait_ms_default": settings.kafka_fetch_max_wait_ms,
        "relay_batch_size_default": settings.relay_batch_size,
        "worker_env": args.worker_env,
    }


def write_results(
    args: argparse.Namespace,
    env: dict[str, Any],
    latency: list[dict[str, Any]],
    throughput: list[dict[str, Any]],
    summary: list[dict[str, Any]],
) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = RESULTS_DIR / f"propagation-{stamp}.json"
    doc = {
        "benchmark": "propagation",
        "started": env.pop("started"),
        "args": {k: v for k, v in vars(args).items()},
        "environment": env,
        "method": {
            "latency": (
                "pg_xact_commit_timestamp(subsidy.accounts.xmin) − pg_xact_commit_timestamp(registry.firms.xmin), "
                "events after the warm-up only"
            ),
            "throughput": "OutboxRelay.publish_batch loop vs bare make_producer() send+gather of the same records",
        },
        "targets": {
            "p50_ms": P50_TARGET_MS,
            "p99_ms": P99_TARGET_MS,
            "relay_ratio": RELAY_RATIO_TARGET,
            "relay_plus_consumer_cpu_ms_per_event": WORKER_CPU_TARGET_MS,
        },
        "summary": summary,
        "latency_runs": [
            {k: v for k, v in r.items() if k != "samples"} | {"histogram_ms": histogram(r["samples"])} for r in latency
        ],
        "throughput_runs": throughput,
    }
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n")
    if latency:
        plot_histogram(latency, path.with_suffix(".png"))
    return path


def plot_histogram(latency: list[dict[str, Any]], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not installed: no PNG histogram)")
        return
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for r in latency:
        ax.hist(r["samples"], bins=100, histtype="step", label=f"run {r['run']}")
    ax.axvline(P50_TARGET_MS, linestyle="--", color="grey", label="p50 target")
    ax.axvline(P99_TARGET_MS, linestyle=":", color="grey", label="p99 target")
    ax.set_xlabel("producer commit → consumer commit (ms)")
    ax.set_ylabel("events")
    ax.set_title(f"Event propagation at {latency[0]['offered_rate']:,.0f} events/s")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"histogram: {path}")


# ------------------------------------------------------------------------------------------------ main


async def run_benchmarks(stack: Stack, args: argparse.Namespace, log_dir: Path) -> tuple[list[dict], list[dict]]:
    # Inside the event loop a signal must not raise at an arbitrary point (library code in between may
    # swallow it): cancel the main task instead, as asyncio.run does for Ctrl-C, so every finally runs.
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)  # type: ignore[union-attr]
    latency: list[dict[str, Any]] = []
    throughput: list[dict[str, Any]] = []
    try:
        for run_no in range(1, args.runs + 1):
            print(f"\n== run {run_no}/{args.runs} ==", flush=True)
            if not args.skip_latency:
                if not args.keep_broker:
                    await stack.fresh_broker()
                latency.append(await propagation_run(stack, args, run_no, log_dir))
            if not args.skip_throughput:
                if not args.keep_broker:
                    await stack.fresh_broker()
                throughput.append(await throughput_run(stack, args, run_no))
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        signal.signal(signal.SIGTERM, _interrupt)
    return latency, throughput


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def terminate_on_sigterm() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C outside the event loop (e.g. while the stack starts) so the same clean-up runs."""
    previous: Callable | int | None = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for name in ("OPC_DATABASE_URL", "OPC_KAFKA_BOOTSTRAP_SERVERS"):
        if os.environ.pop(name, None):
            print(f"note: ignoring {name}; this benchmark runs its own embedded stack")
    env = environment_info(args)
    env["started"] = datetime.now(UTC).isoformat()
    print(
        f"propagation benchmark: rate {args.rate:,.0f}/s, {args.duration:g}s measured (+{args.warmup:g}s warm-up), "
        f"{args.runs} run(s), relay test {args.relay_events:,} events; {env['cpus']} CPUs, load {env['loadavg_at_start']}"
    )
    root = Path(tempfile.mkdtemp(prefix="opc-bench-"))
    stack = Stack(root)
    latency: list[dict[str, Any]] = []
    throughput: list[dict[str, Any]] = []
    try:
        with terminate_on_sigterm():
            print("starting embedded stack …", flush=True)
            t = time.monotonic()
            stack.start()
            print(f"  stack ready in {time.monotonic() - t:.1f}s (temp dir {root})", flush=True)
            latency, throughput = asyncio.run(run_benchmarks(stack, args, root / "logs"))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("\ninterrupted: stopping everything", file=sys.stderr)
        return 130
    finally:
        with contextlib.suppress(KeyboardInterrupt):
            stack.stop()
        if args.keep_temp:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)

    if latency:
        print_latency_runs(latency)
    if throughput:
        print_throughput_runs(throughput)
    summary = summary_rows(latency, throughput)
    print_summary(summary, args.runs)
    if not args.no_json:
        path = write_results(args, env, latency, throughput, summary)
        print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
