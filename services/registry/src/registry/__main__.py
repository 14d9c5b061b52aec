import sys
from pathlib import Path

from opc_shared.cli import run_cli
from registry.main import spec


def main() -> None:
    if sys.argv[1:2] == ["calendar"]:
        from registry.calendar_file import main as calendar_main

        raise SystemExit(calendar_main(sys.argv[2:]))
    run_cli(spec, Path(__file__).parent / "migrations")


if __name__ == "__main__":
    main()
