"""The unified social credit code (统一社会信用代码, GB 32100-2015) of vendors, firms and community operators.

The check arithmetic is the standard's, in :mod:`opc_shared.identifiers`; this module words the refusal."""

from __future__ import annotations

from opc_shared.identifiers import USCC_CHARSET, complete_uscc, uscc_check_char

__all__ = ["make_uscc", "uscc_check_char", "uscc_problem"]


def uscc_problem(value: str) -> str | None:
    """Why ``value`` is not a USCC, or None when it is one (check character included)."""
    if len(value) != 18:
        return f"a unified social credit code has 18 characters, got {len(value)}"
    bad = sorted({c for c in value if c not in USCC_CHARSET})
    if bad:
        return f"characters {''.join(bad)!r} never appear in a unified social credit code"
    expected = uscc_check_char(value[:17])
    if value[17] != expected:
        return f"the check character is {value[17]}, the first 17 characters require {expected}"
    return None


def make_uscc(first17: str) -> str:
    """Completes 17 characters with their check character (tests and demo data)."""
    return complete_uscc(first17)
