"""Every refusal the registry can raise is in its one problem table (else the suite sees a 500)."""

import re
from pathlib import Path

from registry.service.problems import PROBLEMS

SRC = Path(__file__).resolve().parents[2] / "src" / "registry"


def test_every_domain_error_code_is_registered() -> None:
    used = set()
    for path in SRC.rglob("*.py"):
        used |= set(re.findall(r'DomainError\(\s*"([a-z_]+)"', path.read_text()))
    assert used, "the scan found nothing; the pattern is wrong"
    assert used - PROBLEMS.codes() == set()
