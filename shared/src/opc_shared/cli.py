"""``python -m <service> <command>``: one entry point per service for every process ops run."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import signal
import sys
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI

from opc_shared.consumer import list_dead_letters, replay_dead_letter
from opc_shared.db import Database
from opc_shared.observability import configure_logging
from opc_shared.relay import republish_since
from opc_shared.service import ServiceSpec, Workers, create_app
from opc_shared.settings import ServiceSettings

#: A young-generation collection after this many more container objects were allocated than freed
#: (CPython's default is 700).
YOUNG_GC_THRESHOLD = 50_000


def tune_gc() -> None:
    """A service's work comes in bursts of short-lived objects that all die with the request or poll
    (a 1,000-record ingest batch allocates ~10 per record; a poll's events, rows and outcomes; a page of
    rows). With CPython's default threshold the cyclic collector runs several times per burst, promoting
    its live objects and walking them again in older generations (measured in the ledger: ~10
    collections and 7–10 ms of CPU per 1,000-record batch, a quarter of its Python time). Raised, a
    burst is freed by reference counting before a collection sees it; cyclic garbage is still
    collected, every 50,000 net allocations."""
    gc.set_threshold(YOUNG_GC_THRESHOLD, *gc.get_threshold()[1:])


def serving_app(spec: ServiceSpec, settings: ServiceSettings | None = None) -> FastAPI:
    """The app of a long-running service process, its garbage collector tuned (``python -m <service> serve``
    and ``uvicorn <service>.main:create --factory`` alike)."""
    tune_gc()
    app = create_app(spec, settings)
    freeze_startup_heap()
    return app


def freeze_startup_heap() -> None:
    """Keep what start-up built (modules, models, routes, metadata: most of the heap, and it lives as long
    as the process) out of the cyclic garbage collector's reach. Otherwise every full collection walks
    it again, in the middle of whichever request happened to allocate (seen in profiles as 5–10 % of
    a read spent in ``select()`` or a session's constructor)."""
    gc.collect()
    gc.freeze()


def run_cli(spec: ServiceSpec, migrations: Path, argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {spec.package}", description=spec.description)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="HTTP API (with relay and consumers unless OPC_*_RUN_RELAY / _RUN_CONSUMERS are false)")
    sub.add_parser("worker", help="relay and consumers only, no HTTP")
    sub.add_parser("relay", help="outbox relay only")
    sub.add_parser("consume", help="consumers only")
    mig = sub.add_parser("migrate", help="apply Alembic migrations to this service's schema")
    mig.add_argument("revision", nargs="?", default="head")
    dl = sub.add_parser("dead-letters", help="list or replay dead-lettered events")
    dl_sub = dl.add_subparsers(dest="action", required=True)
    dl_list = dl_sub.add_parser("list")
    dl_list.add_argument("--all", action="store_true", help="include replayed ones")
    dl_replay = dl_sub.add_parser("replay")
    dl_replay.add_argument("ids", nargs="+", type=int)
    rp = sub.add_parser("outbox-replay", help="re-publish this service's outbox from a point in time")
    rp.add_argument("--since", required=True, type=datetime.fromisoformat, help="RFC 3339 time, e.g. 2026-11-01T00:00:00+00:00")
    args = parser.parse_args(argv)

    settings = spec.settings_cls()
    if args.command == "serve":
        import uvicorn

        app = serving_app(spec, settings)
        uvicorn.run(app, host=settings.host, port=settings.http_port, log_config=None, access_log=False)
    elif args.command in ("worker", "relay", "consume"):
        configure_logging(settings)
        tune_gc()
        freeze_startup_heap()
        asyncio.run(
            _run_workers(
                spec, settings, relay=args.command in ("worker", "relay"), consumers=args.command in ("worker", "consume")
            )
        )
    elif args.command == "migrate":
        from opc_shared.migrations import upgrade

        upgrade(migrations, settings, args.revision)
        print(f"{spec.package}: schema {settings.db_schema} at {args.revision}")
    elif args.command == "dead-letters":
        asyncio.run(_dead_letters(spec, settings, args))
    elif args.command == "outbox-replay":
        since = args.since if args.since.tzinfo else args.since.astimezone()
        count = asyncio.run(republish_since(settings, since))
        print(f"{spec.package}: {count} outbox events since {since.isoformat()} queued for re-publishing")


async def _run_workers(spec: ServiceSpec, settings, *, relay: bool, consumers: bool) -> None:
    db = Database(settings, spec.metadata)
    workers = Workers(spec, db, relay=relay, consumers=consumers)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, workers.stop.set)
    workers.start()
    await workers.stop.wait()
    await workers.shutdown()
    await db.dispose()


async def _dead_letters(spec: ServiceSpec, settings, args: argparse.Namespace) -> None:
    db = Database(settings, spec.metadata)
    try:
        if args.action == "list":
            rows = await list_dead_letters(db, include_replayed=args.all)
            print(json.dumps(rows, default=str, ensure_ascii=False, indent=2))
        else:
            failed = False
            for dl_id in args.ids:
                try:
                    print(f"{dl_id}: {await replay_dead_letter(db, spec.handlers, dl_id)}")
                except LookupError as exc:
                    print(f"{dl_id}: {exc.args[0]}", file=sys.stderr)
                    failed = True
            if failed:
                raise SystemExit(1)
    finally:
        await db.dispose()
