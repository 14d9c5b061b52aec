"""The working-day calendar as a file ops keep under version control and load through the API.

Format (JSON, UTF-8)::

    {"year": 2027,
     "source": "国务院办公厅关于2027年部分节假日安排的通知",
     "days": [{"day": "2027-01-01", "kind": "holiday", "name": "元旦"},
              {"day": "2027-02-06", "kind": "workday", "name": "春节"}]}

Only deviations from Monday–Friday are listed: ``holiday`` for a weekday off, ``workday`` for a
Saturday or Sunday worked (调休, named after the break it pays for). ``"template": true`` marks a
file that is not an official schedule yet; ``load`` refuses it.

    python -m registry calendar export 2026 > 2026.json      # from the chinese-calendar package
    python -m registry calendar check  calendars/2027.json   # offline: the same rules as the API
    python -m registry calendar load   calendars/2027.json --url "$REGISTRY_URL" --token "$CITY_ADMIN_TOKEN"
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from opc_shared.service_list import service
from registry.domain.calendar import CalendarNotLoaded, entry_problems, seed_entries


class CalendarFileError(ValueError):
    pass


def read(path: Path) -> dict[str, Any]:
    """The file's content, checked; raises CalendarFileError naming every problem."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CalendarFileError(f"{path}: not a readable JSON file ({exc})") from None
    problems = []
    if not isinstance(data, dict) or not isinstance(data.get("year"), int) or not isinstance(data.get("days"), list):
        raise CalendarFileError(f"{path}: needs an integer 'year', a 'source' and a list 'days'")
    if data.get("template"):
        problems.append("this is a template, not an official schedule: fill it from the State Council notice and drop 'template'")
    if not isinstance(data.get("source"), str) or len(data["source"].strip()) < 2:
        problems.append("'source' must name the notice the dates come from")
    if not data["days"]:
        problems.append("'days' is empty: every year has public holidays")
    days: list[tuple[date, str]] = []
    for i, entry in enumerate(data["days"]):
        try:
            day, kind = date.fromisoformat(entry["day"]), entry["kind"]
        except (KeyError, TypeError, ValueError):
            problems.append(f"days.{i}: needs 'day' (YYYY-MM-DD) and 'kind'")
            continue
        if kind not in ("holiday", "workday"):
            problems.append(f"days.{i}.kind: 'holiday' or 'workday'")
            continue
        days.append((day, kind))
    problems += [f"{field}: {message}" for field, _, message in entry_problems(data["year"], days)]
    if problems:
        raise CalendarFileError(f"{path}:\n  " + "\n  ".join(problems))
    return data


def export(year: int) -> dict[str, Any]:
    entries = seed_entries(year)
    return {
        "year": year,
        "source": "chinese-calendar package (State Council notice)",
        "days": [{"day": d.isoformat(), "kind": e.kind.value, "name": e.name} for d, e in sorted(entries.items())],
    }


def dumps(data: dict[str, Any]) -> str:
    """One entry per line, so a diff against next year's notice reads like the notice."""
    head = {k: v for k, v in data.items() if k != "days"}
    lines = [json.dumps(d, ensure_ascii=False) for d in data["days"]]
    body = json.dumps(head, ensure_ascii=False, indent=1)[:-2]
    return body + ',\n "days": [\n  ' + ",\n  ".join(lines) + "\n ]\n}"


def load(path: Path, url: str, token: str) -> dict[str, Any]:
    data = read(path)
    body = {"source": data["source"], "days": [{k: d.get(k) for k in ("day", "kind", "name")} for d in data["days"]]}
    response = httpx.put(
        f"{url.rstrip('/')}/v1/calendar/{data['year']}",
        json=body,
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"},
        timeout=30,
    )
    if response.status_code != 200:
        raise CalendarFileError(f"the registry refused the file: {response.status_code} {response.text}")
    return response.json()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m registry calendar", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    ex = sub.add_parser("export", help="write a year known to the chinese-calendar package as a calendar file")
    ex.add_argument("year", type=int)
    ck = sub.add_parser("check", help="check a calendar file offline")
    ck.add_argument("file", type=Path)
    ld = sub.add_parser("load", help="PUT a calendar file to /v1/calendar/{year} (a city-wide admin's token)")
    ld.add_argument("file", type=Path)
    local = f"http://127.0.0.1:{service('registry').port}"
    ld.add_argument("--url", default=os.environ.get("OPC_REGISTRY_URL", local), help=f"the registry's base URL (default {local})")
    ld.add_argument("--token", default=os.environ.get("OPC_TOKEN"), help="bearer token (default: $OPC_TOKEN)")
    args = parser.parse_args(argv)
    try:
        if args.action == "export":
            print(dumps(export(args.year)))
        elif args.action == "check":
            data = read(args.file)
            print(f"{args.file}: {data['year']}, {len(data['days'])} entries, source: {data['source']}")
        else:
            if not args.token:
                parser.error("--token or $OPC_TOKEN is needed (mint one: opc-token --district '*' --roles admin)")
            loaded = load(args.file, args.url, args.token)
            print(f"loaded {loaded['year']}: {len(loaded['days'])} entries from {loaded['source']}")
    except (CalendarFileError, CalendarNotLoaded) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0
