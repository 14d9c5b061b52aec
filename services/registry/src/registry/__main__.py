from pathlib import Path

from opc_shared.cli import run_cli
from registry.main import spec


def main() -> None:
    run_cli(spec, Path(__file__).parent / "migrations")


if __name__ == "__main__":
    main()
