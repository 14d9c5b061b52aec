"""Check-digit rules of the two public identifiers a registration case carries.

A mistyped resident ID number (GB 11643-1999) or Unified Social Credit Code (GB 32100-2015)
would otherwise travel to the tax office and the bank before anyone noticed; both standards
carry a check character, so a typo is caught at the form. Each refusal names its reason so
the district portal can tell the founder which part to look at.
"""

from __future__ import annotations

from datetime import date

from opc_shared import identifiers as standard
from opc_shared.identifiers import USCC_CHARSET, org_code_check_char

__all__ = [
    "USCC_CHARSET",
    "InvalidIdentifier",
    "generate_uscc",
    "org_code_check_char",
    "resident_id_check_char",
    "uscc_check_char",
    "validate_resident_id",
    "validate_uscc",
]

_ORG_BODY_CAPACITY = len(USCC_CHARSET) ** len(standard.ORG_WEIGHTS)


class InvalidIdentifier(ValueError):
    """``reason`` in English for logs and tests; ``key`` and ``params`` name the sentence of the
    message catalogue a person reads (see :mod:`registry.domain.messages`)."""

    def __init__(self, reason: str, key: str | None = None, **params: object) -> None:
        self.reason, self.key, self.params = reason, key, params
        super().__init__(reason)

    @property
    def text(self) -> dict[str, str]:
        from registry.domain.messages import say

        return say(self.key, **self.params) if self.key else {"en": self.reason, "zh-CN": self.reason}


def resident_id_check_char(first17: str) -> str:
    try:
        return standard.resident_id_check_char(first17)
    except ValueError as exc:
        raise InvalidIdentifier(str(exc)) from None


def validate_resident_id(value: str, today: date) -> str:
    """The normalised number (upper-case X); refuses with the first reason found, in reading order."""
    number = value.strip().upper()
    if len(number) != 18:
        raise InvalidIdentifier(f"a resident ID number has 18 characters, got {len(number)}", "id_length", got=len(number))
    body, check = number[:17], number[17]
    if not (body.isascii() and body.isdigit()):
        raise InvalidIdentifier("the first 17 characters of a resident ID number must be digits", "id_body_digits")
    if not (check.isascii() and (check.isdigit() or check == "X")):
        raise InvalidIdentifier(f"the last character must be a digit or X, got {check!r}", "id_last_char", got=check)
    try:
        born = date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    except ValueError:
        raise InvalidIdentifier(
            f"the birth date {body[6:14]} (characters 7–14) is not a real date", "id_birth_not_a_date", value=body[6:14]
        ) from None
    if born > today:
        raise InvalidIdentifier(
            f"the birth date {born.isoformat()} (characters 7–14) is in the future", "id_birth_in_future", value=born.isoformat()
        )
    expected = resident_id_check_char(body)
    if check != expected:
        raise InvalidIdentifier(
            f"the check character is {check}, the first 17 characters require {expected}",
            "check_char",
            got=check,
            expected=expected,
        )
    return number


def uscc_check_char(first17: str) -> str:
    try:
        return standard.uscc_check_char(first17)
    except ValueError as exc:
        raise InvalidIdentifier(str(exc)) from None


def validate_uscc(value: str) -> str:
    """The normalised code (upper-case); refuses with the first reason found, in reading order."""
    code = value.strip().upper()
    if len(code) != 18:
        raise InvalidIdentifier(f"a unified social credit code has 18 characters, got {len(code)}", "uscc_length", got=len(code))
    bad = sorted({c for c in code if c not in USCC_CHARSET})
    if bad:
        raise InvalidIdentifier(
            f"characters {''.join(bad)!r} are not allowed (I, O, Z, S, V and symbols never appear)",
            "uscc_charset",
            chars="".join(bad),
        )
    division = code[2:8]
    if not division.isdigit():
        raise InvalidIdentifier(
            f"the administrative division code {division} (characters 3–8) must be 6 digits", "uscc_division", division=division
        )
    body, org_check = code[8:16], code[16]
    expected_org = org_code_check_char(body)
    if org_check != expected_org:
        raise InvalidIdentifier(
            f"the organisation code check character (character 17) is {org_check}, {body} requires {expected_org}",
            "uscc_org_check",
            got=org_check,
            body=body,
            expected=expected_org,
        )
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        raise InvalidIdentifier(
            f"the check character is {code[17]}, the first 17 characters require {expected}",
            "check_char",
            got=code[17],
            expected=expected,
        )
    return code


def generate_uscc(division_code: str, serial: int, authority: str = "9", category: str = "1") -> str:
    """A valid code for a licence we issue; distinct serials give distinct codes.

    The organisation code body is the serial written in base 31 over the USCC charset, so
    every character is also legal in GB 11714 and the mapping is one-to-one.
    """
    if len(division_code) != 6 or not (division_code.isascii() and division_code.isdigit()):
        raise InvalidIdentifier(f"the administrative division code must be 6 digits, got {division_code!r}")
    for what, c in (("authority", authority), ("category", category)):
        if len(c) != 1 or c not in USCC_CHARSET:
            raise InvalidIdentifier(f"the {what} code must be one character of {USCC_CHARSET}, got {c!r}")
    if not 0 <= serial < _ORG_BODY_CAPACITY:
        raise ValueError(f"serial must be in [0, {_ORG_BODY_CAPACITY}), got {serial}")
    digits = []
    rest = serial
    for _ in standard.ORG_WEIGHTS:
        rest, d = divmod(rest, len(USCC_CHARSET))
        digits.append(USCC_CHARSET[d])
    body = "".join(reversed(digits))
    first17 = f"{authority}{category}{division_code}{body}{org_code_check_char(body)}"
    return first17 + uscc_check_char(first17)
