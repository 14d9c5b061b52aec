"""Check characters of the public identifiers that PRC standards define.

Pure arithmetic fixed by the standards (no business rule): every service that reads a
Unified Social Credit Code or a resident ID number checks it the same way. What a service
says to a person about a bad identifier stays in that service.
"""

from __future__ import annotations

#: GB 32100-2015: the 31 characters that cannot be misread (no I, O, Z, S, V).
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUES = {c: i for i, c in enumerate(USCC_CHARSET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# GB 11643-1999 (ISO 7064 MOD 11-2)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"

# GB 11714-1997 organisation code: letters keep their alphabet values A=10 … Z=35, unlike the USCC charset.
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def uscc_check_char(first17: str) -> str:
    """The 18th character of a USCC whose first 17 are given; ValueError outside the charset."""
    if len(first17) != 17 or any(c not in _USCC_VALUES for c in first17):
        raise ValueError(f"need 17 characters from {USCC_CHARSET}, got {first17!r}")
    total = sum(_USCC_VALUES[c] * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def complete_uscc(first17: str) -> str:
    """17 characters completed with their check character (tests, demo data, generated codes)."""
    return first17 + uscc_check_char(first17)


def uscc_check_ok(code: str) -> bool:
    """True when ``code`` has 18 characters of the charset and its check character is right."""
    return len(code) == 18 and all(c in _USCC_VALUES for c in code) and uscc_check_char(code[:17]) == code[17]


def _org_value(c: str) -> int:
    return int(c) if c.isdigit() else ord(c) - ord("A") + 10


def org_code_check_char(body8: str) -> str:
    """GB 11714 check character of an 8-character organisation code body."""
    remainder = 11 - sum(_org_value(c) * w for c, w in zip(body8, ORG_WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(remainder, str(remainder))


def resident_id_check_char(first17: str) -> str:
    """The 18th character of a resident ID number; ValueError unless 17 ASCII digits are given."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError(f"the first 17 characters must be digits, got {first17!r}")
    return _ID_CHECK_CHARS[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]
