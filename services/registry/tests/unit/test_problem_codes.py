"""Every refusal the domain can raise has text in both languages (else it would surface as a 500)."""

import re
from pathlib import Path

import registry.service.problems  # noqa: F401 - registers the codes
from opc_shared.problems import known_codes

SRC = Path(__file__).resolve().parents[2] / "src" / "registry"


def test_every_domain_error_code_is_registered() -> None:
    used = set()
    for path in SRC.rglob("*.py"):
        used |= set(re.findall(r'DomainError\(\s*"([a-z_]+)"', path.read_text()))
        used |= set(re.findall(r'Problem\(\s*"([a-z_]+)"', path.read_text()))
    assert used, "the scan found nothing; the pattern is wrong"
    assert used - known_codes() == set()
