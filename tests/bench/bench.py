#!/usr/bin/env python
"""``make bench``: every benchmark in turn, then one table of every figure with its limit and ratio.

Runs ``propagation.py`` (event path: latency at 1,000 events/s, relay vs raw producer, CPU per event) and
``api.py`` (reads and writes vs a trivial endpoint, p99 at 200 requests/s, idle CPU per service), each in
its own process with its own embedded stack, on the broker ``OPC_DEV_BROKER`` names (``--broker``).
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="All benchmarks, one summary table.")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="smoke run (~2 min)")
    mode.add_argument("--long", action="store_true", help="longer runs, steadier medians (~25 min)")
    p.add_argument("--broker", choices=("noida", "tansu"), default=None, help="embedded broker [OPC_DEV_BROKER or noida]")
    p.add_argument("--only", choices=("propagation", "api"), action="append", default=[], help="run only these")
    p.add_argument("--propagation-args", default="", help="extra options for propagation.py (quoted)")
    p.add_argument("--api-args", default="", help="extra options for api.py (quoted)")
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
    }
    selected = args.only or list(plans)
    started = time.monotonic()
    load_start = os.getloadavg()
    results: dict[str, dict] = {}
    for name in selected:
        print(f"\n######## {name} (broker {broker}) ########", flush=True)
        cmd = [sys.executable, "-u", str(HERE / f"{name}.py"), *plans[name]]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        path = None
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            m = re.match(r"^results: (\S+\.json)$", line.strip())
            if m:
                path = m.group(1)
        if proc.wait() != 0:
            print(f"{name} failed with exit code {proc.returncode}", file=sys.stderr)
            return proc.returncode
        if path:
            results[name] = json.loads(Path(path).read_text())
    load_end = os.getloadavg()
    print(
        f"\n================ make bench summary: broker {broker}, {time.monotonic() - started:.0f} s, "
        f"load average {load_start[0]:.1f} → {load_end[0]:.1f} on {os.cpu_count()} CPUs ================"
    )
    print("(each figure is a median of runs, divided by a limit measured in the same run or fixed by DESIGN.md)")
    print(f"{'figure':<50} {'value':>13}  {'limit':<26} {'ratio':>6}  {'target':<14} {'ok':<3}")
    print("-" * 120)
    for doc in results.values():
        for r in doc.get("summary", []):
            ratio = f"{r['ratio']:.2f}" if r.get("ratio") is not None else "—"
            print(f"{r['metric']:<50} {r['value']:>13}  {r['limit']:<26} {ratio:>6}  {r['target']:<14} {r['ok']:<3}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
