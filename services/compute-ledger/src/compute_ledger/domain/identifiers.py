"""The unified social credit code (统一社会信用代码, GB 32100-2015) of vendors, firms and community operators."""

from __future__ import annotations

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUES = {c: i for i, c in enumerate(USCC_CHARSET)}
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    total = sum(_VALUES[c] * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def uscc_problem(value: str) -> str | None:
    """Why ``value`` is not a USCC, or None when it is one (check character included)."""
    if len(value) != 18:
        return f"a unified social credit code has 18 characters, got {len(value)}"
    bad = sorted({c for c in value if c not in _VALUES})
    if bad:
        return f"characters {''.join(bad)!r} never appear in a unified social credit code"
    expected = uscc_check_char(value[:17])
    if value[17] != expected:
        return f"the check character is {value[17]}, the first 17 characters require {expected}"
    return None


def make_uscc(first17: str) -> str:
    """Completes 17 characters with their check character (tests and demo data)."""
    return first17 + uscc_check_char(first17)
