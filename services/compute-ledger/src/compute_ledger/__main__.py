from pathlib import Path

from compute_ledger.main import spec
from opc_shared.cli import run_cli


def main() -> None:
    run_cli(spec, Path(__file__).parent / "migrations")


if __name__ == "__main__":
    main()
