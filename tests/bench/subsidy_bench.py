#!/usr/bin/env python
"""Subsidy benchmark (part of ``make bench``): programme-year re-evaluation and invoice → entitlement latency.

It starts its own embedded PostgreSQL and broker (``opc_devstack.infra.Infra``, non-durable, commit
timestamps on) in a temporary directory, then measures:

1. **Re-evaluation of a programme year vs the bare SQL aggregation.** ``--firms`` firms (default 100,000)
   with ``--lines`` invoice lines (default 1,000,000) in ``subsidy.base_entries``, spread over 20
   districts and both categories. *Ours* is the service's own what-if, ``evaluation.simulate`` — the
   code behind ``POST /v1/policies/{id}/simulate`` — evaluating ``compute`` and ``model_voucher`` for
   every firm under the published Chengdu version and totalling by programme and district (exact,
   rounded down to the fen, capped). *Bare* is the aggregation alone on a raw asyncpg connection: the same
   ``SELECT firm_id, district, category, sum(total_fen) … GROUP BY`` fetched to the client. The ratio
   ours/bare is the figure (DESIGN.md target ≤ 2). Both alternate order each run; the totals are checked
   against the same rule written in SQL (``LEAST(FLOOR(base × rate), cap)``).
2. **Invoice event → entitlement latency** at a sustained offered rate (``--rate`` events/s for
   ``--seconds``): ``InvoiceRecordedV1`` records are produced straight to ``opc.ledger.v1`` (as the
   ledger's relay would) on an absolute schedule, and the real subsidy consumer
   (``python -m subsidy consume``) applies them in its own process. Latency = PostgreSQL commit
   timestamp of the consumer's transaction (``pg_xact_commit_timestamp(xmin)`` of the invoice's
   ``base_entries`` row, written in the same transaction as the entitlement) − the wall-clock moment
   the record was handed to the producer. The first ``--warmup`` seconds are not counted.

Medians over ``--runs`` runs (default 3) are printed as a table and written to ``tests/bench/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg

from opc_devstack import procs
from opc_devstack.infra import DATABASE, TOPICS, Infra
from opc_shared.auth import Principal
from opc_shared.contracts.ledger import CategoryAmount, InvoiceRecordedV1
from opc_shared.db import Database, asyncpg_dsn
from opc_shared.events import build_event
from opc_shared.kafka import ensure_topics, make_producer

RESULTS = Path(__file__).resolve().parent / "results"
DISTRICTS = [f"district{i:02d}" for i in range(20)]
PROFILE = False
CITY_ADMIN = Principal(sub="bench", district="*", roles=frozenset({"admin"}))


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--firms", type=int, default=100_000)
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--rate", type=float, default=50.0, help="invoice events per second offered")
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--latency-firms", type=int, default=2_000)
    p.add_argument("--skip-latency", action="store_true")
    p.add_argument("--profile", action="store_true", help="print a cProfile of one re-evaluation")
    return p.parse_args()


# ---------------------------------------------------------------------------------------- the stack


async def admin(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class Stack:
    def __init__(self, root: Path) -> None:
        self.infra = Infra(root / "infra", durable=False)
        self.root = root

    def start(self) -> None:
        self.infra.start(progress=lambda m: print(f"  {m}", flush=True))
        asyncio.run(admin(self.infra.admin_dsn, "ALTER SYSTEM SET track_commit_timestamp = on"))
        assert self.infra.pg is not None
        self.infra.pg.stop()
        self.infra.pg.start()

    def stop(self) -> None:
        self.infra.stop()

    @property
    def superuser_dsn(self) -> str:
        return self.infra.admin_dsn.rsplit("/", 1)[0] + f"/{DATABASE}"

    def settings(self):
        from subsidy.settings import SubsidySettings

        return SubsidySettings(database_url=self.infra.urls["subsidy"], kafka_bootstrap_servers=self.infra.bootstrap)


# ------------------------------------------------------------------------------------ re-evaluation


async def load_lines(stack: Stack, firms: int, lines: int) -> None:
    rng = random.Random(2026)
    firm_ids = [uuid.uuid4() for _ in range(firms)]
    district_of = {f: DISTRICTS[i % len(DISTRICTS)] for i, f in enumerate(firm_ids)}
    records = []
    for i in range(lines):
        firm = firm_ids[i % firms]
        category = "compute" if rng.random() < 0.6 else "tokens"
        # most firms invoice modest sums; one in 500 is a heavy user whose compute crosses the 5,000,000 yuan cap
        total = rng.randrange(1_000, 5_000_000) if i % 500 else rng.randrange(100_000_000, 1_000_000_000)
        amount = total * 10_000 // 10_600
        issued = date(2026, 1 + i % 12, 1 + i % 28)
        records.append((firm, district_of[firm], 2026, category, "invoice", f"B{i:019d}", issued, amount, total - amount, total))
    conn = await asyncpg.connect(stack.superuser_dsn)
    try:
        t = time.perf_counter()
        await conn.copy_records_to_table(
            "base_entries",
            schema_name="subsidy",
            records=records,
            columns=[
                "firm_id",
                "district",
                "year",
                "category",
                "source",
                "reference",
                "issued_on",
                "amount_fen",
                "tax_fen",
                "total_fen",
            ],
        )
        await conn.execute("ANALYZE subsidy.base_entries")
        print(f"  loaded {lines:,} invoice lines for {firms:,} firms in {time.perf_counter() - t:.1f} s", flush=True)
    finally:
        await conn.close()


BARE = (
    "SELECT firm_id, district, category, sum(total_fen) AS base FROM subsidy.base_entries "
    "WHERE year = 2026 GROUP BY firm_id, district, category"
)
CHECK = """
WITH b AS (SELECT firm_id, category, sum(total_fen) AS base FROM subsidy.base_entries WHERE year = 2026 GROUP BY 1, 2)
SELECT sum(LEAST(FLOOR(base * 0.60), 500000000)) FILTER (WHERE category = 'compute'),
       sum(LEAST(FLOOR(base * 0.30), 100000000)) FILTER (WHERE category = 'tokens') FROM b
"""


async def reevaluation(stack: Stack, runs: int) -> list[dict]:
    from subsidy.service import evaluation, policies

    db = Database(stack.settings(), __import__("subsidy.adapters.tables", fromlist=["metadata"]).metadata)
    async with db.uow() as uow:
        await policies.published(uow.session)
        await uow.commit()
    vid = policies.version_id("chengdu-ai-opc", "2026.1")
    bare_conn = await asyncpg.connect(asyncpg_dsn(stack.infra.urls["subsidy"]))
    check = await bare_conn.fetchrow(CHECK)
    expected = {"compute": int(check[0]), "model_voucher": int(check[1])}
    out = []
    if PROFILE:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        async with db.uow() as uow:
            await evaluation.simulate(uow.work(), CITY_ADMIN, vid, 2026)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    try:
        for run in range(runs):
            timings = {}

            async def bare(timings: dict = timings) -> None:
                t = time.perf_counter()
                rows = await bare_conn.fetch(BARE)
                timings["bare_s"] = time.perf_counter() - t
                timings["groups"] = len(rows)

            async def ours(timings: dict = timings) -> None:
                t = time.perf_counter()
                async with db.uow() as uow:
                    result = await evaluation.simulate(uow.work(), CITY_ADMIN, vid, 2026)
                timings["ours_s"] = time.perf_counter() - t
                timings["firms"] = result["firms"]
                timings["totals_match_sql"] = result["programmes"] == expected
                timings["total_fen"] = result["total_fen"]

            for step in (bare, ours) if run % 2 == 0 else (ours, bare):
                await step()
            timings["ratio"] = timings["ours_s"] / timings["bare_s"]
            print(
                f"  run {run + 1}: bare {timings['bare_s'] * 1000:.0f} ms, ours {timings['ours_s'] * 1000:.0f} ms, "
                f"ratio {timings['ratio']:.2f}, totals match SQL: {timings['totals_match_sql']}",
                flush=True,
            )
            out.append(timings)
    finally:
        await bare_conn.close()
        await db.dispose()
    return out


# ---------------------------------------------------------------------------------------- latency


def invoice_event(firm: uuid.UUID, district: str, vendor: uuid.UUID, number: str):
    contract = InvoiceRecordedV1(
        firm_id=firm,
        district=district,
        vendor_id=vendor,
        vendor_uscc="91510100MA61234567",
        invoice_number=number,
        issued_on=date(2026, 6, 1),
        categories=[CategoryAmount(category="compute", amount_fen=9_434, tax_fen=566, total_fen=10_000)],
        total_fen=10_000,
        recorded_at=datetime.now(UTC),
    )
    event = build_event(
        event_type=contract.event_type, source="/opc/compute-ledger", subject=contract.subject, data=contract.payload()
    )
    return contract, event


async def wait_until_consuming(stack: Stack, producer, vendor: uuid.UUID, timeout: float = 60.0) -> None:
    """Send probes until one is applied: the consumer has joined its group and owns the partitions."""
    conn = await asyncpg.connect(stack.superuser_dsn)
    try:
        deadline = time.time() + timeout
        while time.time() < deadline:
            number = f"{8 * 10**19 + int(time.time() * 1000) % 10**12:020d}"
            contract, event = invoice_event(uuid.uuid4(), "probe", vendor, number)
            await producer.send_and_wait(
                contract.topic, event.to_bytes(), key=contract.subject.encode(), headers=event.kafka_headers()
            )
            for _ in range(20):
                if await conn.fetchval("SELECT 1 FROM subsidy.base_entries WHERE reference = $1", number):
                    return
                await asyncio.sleep(0.1)
        raise RuntimeError("the subsidy consumer never applied a probe event")
    finally:
        await conn.close()


def spawn_consumer(env: dict[str, str], log_dir: Path) -> subprocess.Popen:
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / "subsidy-consumer.log", "ab") as log:
        return procs.spawn([sys.executable, "-m", "subsidy", "consume"], env=env, stdout=log, stderr=subprocess.STDOUT)


async def latency(stack: Stack, args: argparse.Namespace, log_dir: Path, run: int) -> dict:
    await ensure_topics(stack.infra.bootstrap, TOPICS)
    env = stack.infra.env()
    env["OPC_LOG_LEVEL"] = "WARNING"
    consumer = spawn_consumer(env, log_dir)
    producer = make_producer(stack.settings())
    await producer.start()
    sent: dict[str, float] = {}
    try:
        firms = [(uuid.uuid4(), DISTRICTS[i % len(DISTRICTS)]) for i in range(args.latency_firms)]
        vendor = uuid.uuid4()
        await wait_until_consuming(stack, producer, vendor)
        total = int(args.rate * args.seconds)
        start = time.time() + 0.5
        warm_until = start + args.warmup
        for i in range(total):
            due = start + i / args.rate
            delay = due - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            firm, district = firms[i % len(firms)]
            number = f"{9 * 10**19 + run * 10**9 + i:020d}"  # unique across runs
            contract, event = invoice_event(firm, district, vendor, number)
            t = time.time()
            await producer.send(contract.topic, event.to_bytes(), key=contract.subject.encode(), headers=event.kafka_headers())
            if t >= warm_until:
                sent[number] = t
        offered_s = time.time() - start
        deadline = time.time() + 60
        conn = await asyncpg.connect(stack.superuser_dsn)
        try:
            while time.time() < deadline:
                done = await conn.fetchval(
                    "SELECT count(*) FROM subsidy.base_entries WHERE source = 'invoice' AND reference BETWEEN $1 AND $2",
                    f"{9 * 10**19 + run * 10**9:020d}",
                    f"{9 * 10**19 + run * 10**9 + total - 1:020d}",
                )
                if done >= total:
                    break
                await asyncio.sleep(0.5)
            rows = await conn.fetch(
                "SELECT reference, extract(epoch FROM pg_xact_commit_timestamp(xmin)) AS committed FROM subsidy.base_entries "
                "WHERE reference = ANY($1::text[])",
                list(sent),
            )
            entitled = await conn.fetchval(
                "SELECT count(*) FROM subsidy.entitlements "
                "WHERE programme = 'compute' AND year = 2026 AND firm_id = ANY($1::uuid[])",
                [f for f, _ in firms],
            )
        finally:
            await conn.close()
        lat = sorted((float(r["committed"]) - sent[r["reference"]]) * 1000 for r in rows)
        if not lat:
            raise RuntimeError("no invoice reached an entitlement; see the consumer log in " + str(log_dir))
        q = statistics.quantiles(lat, n=100)
        return {
            "offered_rate": args.rate,
            "achieved_rate": round(total / offered_s, 1),
            "measured": len(lat),
            "missing": len(sent) - len(lat),
            "p50_ms": round(q[49], 1),
            "p99_ms": round(q[98], 1),
            "max_ms": round(lat[-1], 1),
            "entitlement_rows": entitled,
        }
    finally:
        await producer.stop()
        with contextlib.suppress(ProcessLookupError):
            consumer.send_signal(signal.SIGTERM)
        try:
            consumer.wait(20)
        except subprocess.TimeoutExpired:
            consumer.kill()


# ------------------------------------------------------------------------------------------- main


def main() -> None:
    args = parse_args()
    global PROFILE
    PROFILE = args.profile
    root = Path(tempfile.mkdtemp(prefix="opc-bench-subsidy-"))
    stack = Stack(root)
    print("[subsidy bench] starting embedded PostgreSQL and broker …", flush=True)
    stack.start()
    try:
        asyncio.run(load_lines(stack, args.firms, args.lines))
        runs = asyncio.run(reevaluation(stack, args.runs))
        lat_runs = []
        if not args.skip_latency:
            for run in range(args.runs):
                figures = asyncio.run(latency(stack, args, root / "logs", run))
                print(f"  latency run {run + 1}: {figures}", flush=True)
                lat_runs.append(figures)
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)
    med = {k: statistics.median(r[k] for r in runs) for k in ("bare_s", "ours_s", "ratio")}
    report = {
        "when": datetime.now(UTC).isoformat(),
        "firms": args.firms,
        "lines": args.lines,
        "reevaluation_runs": runs,
        "reevaluation_median": med,
        "latency_runs": lat_runs,
    }
    print("\nSubsidy benchmark (medians of", args.runs, "runs)")
    print("| figure | value | target |")
    print("| --- | --- | --- |")
    print(
        f"| re-evaluate a programme year: {args.firms:,} firms, {args.lines:,} invoice lines | {med['ours_s'] * 1000:.0f} ms | |"
    )
    print(f"| bare SQL aggregation of the same base | {med['bare_s'] * 1000:.0f} ms | |")
    print(f"| ratio ours / bare | {med['ratio']:.2f} | ≤ 2 |")
    print(f"| totals equal the rule in SQL | {all(r['totals_match_sql'] for r in runs)} | True |")
    if lat_runs:
        p50 = statistics.median(r["p50_ms"] for r in lat_runs)
        p99 = statistics.median(r["p99_ms"] for r in lat_runs)
        rate = statistics.median(r["achieved_rate"] for r in lat_runs)
        print(f"| invoice event → entitlement p50 at {rate:.0f} events/s | {p50:.1f} ms | |")
        print(f"| invoice event → entitlement p99 at {rate:.0f} events/s | {p99:.1f} ms | |")
        report["latency_median"] = {"p50_ms": p50, "p99_ms": p99, "rate": rate}
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"subsidy-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    print(f"\nfigures: {path}")


if __name__ == "__main__":
    main()
