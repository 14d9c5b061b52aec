import sys
from pathlib import Path

from compute_ledger.main import spec
from opc_shared.cli import run_cli


def main() -> None:
    if sys.argv[1:2] == ["send-test"]:
        from compute_ledger.send_test import main as send_test

        sys.exit(send_test(sys.argv[2:]))
    run_cli(spec, Path(__file__).parent / "migrations")


if __name__ == "__main__":
    main()
