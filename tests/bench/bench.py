#!/usr/bin/env python
"""``make bench``: every benchmark in turn, then one table of every figure with its limit and ratio.

Runs ``propagation.py`` (event path: latency at 1,000 events/s, relay vs raw producer, CPU per event),
``api.py`` (reads and writes vs a trivial endpoint, p99 at 200 requests/s, idle CPU per service) and the
services' own benchmarks (``subsidy_bench.py``, ``matching_bench.py``), each in its own process with its
own stack, on the broker ``OPC_DEV_BROKER`` names (``--broker``). Add a benchmark to :data:`SCRIPTS`.
A default run takes about 8 minutes on the 2-core dev machine; ``--long`` takes about three times that
for steadier medians, ``--quick`` about 2 minutes as a smoke test. Each benchmark prints progress as it
goes and writes its JSON under ``tests/bench/results/``; the summary at the end repeats every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: Every benchmark ``make bench`` runs, in this order; each prints its own table as it ends.
SCRIPTS = {
    "propagation": "propagation.py",
    "api": "api.py",
    "subsidy": "subsidy_bench.py",
    "matching": "matching_bench.py",
    "ledger": "ledger.py",
}
SUBSIDY_QUICK = ["--firms", "20000", "--lines", "200000", "--runs", "1", "--seconds", "5"]


def speed_probe() -> float:
    """CPU seconds for a fixed pure-Python loop: how fast this machine is right now. Shared hosts run the
    same code at very different speeds from hour to hour (the same candidate generation took 1.7-2.0 s of
    CPU at one time and 4.2 s two hours later, with nothing else running); absolute figures (times at a
    fixed rate, the 3 s assignment) move with it, ratios to a limit measured in the same run do not."""
    started = time.process_time()
    total = 0
    for i in range(5_000_000):
        total += i
    return time.process_time() - started


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="All benchmarks, one summary table.")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="smoke run (~2 min)")
    mode.add_argument("--long", action="store_true", help="longer runs, steadier medians (~25 min)")
    p.add_argument("--broker", choices=("noida", "tansu"), default=None, help="embedded broker [OPC_DEV_BROKER or noida]")
    p.add_argument("--only", choices=tuple(SCRIPTS), action="append", default=[], help="run only these (repeatable)")
    p.add_argument("--skip", choices=tuple(SCRIPTS), action="append", default=[], help="leave these out (repeatable)")
    for name in SCRIPTS:
        p.add_argument(f"--{name}-args", default="", help=f"extra options for {SCRIPTS[name]} (quoted)")
    args = p.parse_args(argv)
    env = dict(os.environ)
    if args.broker:
        env["OPC_DEV_BROKER"] = args.broker
    broker = env.get("OPC_DEV_BROKER", "noida")
    flag = ["--quick"] if args.quick else []
    plans = {
        "propagation": [
            *flag,
            *(["--runs", "5", "--relay-events", "50000"] if args.long else []),
            *args.propagation_args.split(),
        ],
        "api": [*flag, *(["--long"] if args.long else []), *args.api_args.split()],
        "subsidy": [*(SUBSIDY_QUICK if args.quick else []), *args.subsidy_args.split()],
        "matching": [*(["--runs", "1"] if args.quick else []), *args.matching_args.split()],
        "ledger": [*flag, *args.ledger_args.split()],
    }
    selected = [name for name in (args.only or list(plans)) if name not in args.skip]
    started = time.monotonic()
    load_start = os.getloadavg()
    speed_start = speed_probe()
    print(f"machine speed probe: {speed_start:.2f} s of CPU for a fixed pure-Python loop (lower is faster)", flush=True)
    results: dict[str, dict] = {}
    for name in selected:
        print(f"\n######## {name} (broker {broker}) ########", flush=True)
        cmd = [sys.executable, "-u", str(HERE / SCRIPTS[name]), *plans[name]]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        path = None
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            m = re.search(r"(\S+/results/\S+\.json)", line)
            if m:
                path = m.group(1)
        if proc.wait() != 0:
            print(f"{name} failed with exit code {proc.returncode}", file=sys.stderr)
            return proc.returncode
        if path and Path(path).exists():
            results[name] = json.loads(Path(path).read_text())
        else:
            results[name] = {}
    load_end = os.getloadavg()
    print(
        f"\n================ make bench summary: broker {broker}, {time.monotonic() - started:.0f} s, "
        f"load average {load_start[0]:.1f} → {load_end[0]:.1f} on {os.cpu_count()} CPUs, "
        f"speed probe {speed_start:.2f} → {speed_probe():.2f} s ================"
    )
    print("(each figure is a median of runs, divided by a limit measured in the same run or fixed by DESIGN.md)")
    print(f"{'figure':<50} {'value':>13}  {'limit':<26} {'ratio':>6}  {'target':<14} {'ok':<3}")
    print("-" * 120)
    for name, doc in results.items():
        rows = doc.get("summary")
        if not isinstance(rows, list) or not all(isinstance(r, dict) and "metric" in r for r in rows):
            print(f"{name}: see its own table above ({SCRIPTS[name]})")
            continue
        for r in rows:
            ratio = f"{r['ratio']:.2f}" if r.get("ratio") is not None else "—"
            print(
                f"{r['metric']:<50} {r['value']:>13}  {r.get('limit', ''):<26} {ratio:>6}  "
                f"{r.get('target', ''):<14} {r.get('ok', ''):<3}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
