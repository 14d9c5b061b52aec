"""The one money type: integer fen. Never a float where money flows."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictInt

#: An amount in fen (分). Strict so that 12.5 or "100" are refused, not coerced.
Fen = Annotated[StrictInt, Field(description="Amount in integer fen (1 yuan = 100 fen)")]
NonNegativeFen = Annotated[StrictInt, Field(ge=0, description="Non-negative amount in integer fen")]


def yuan_to_fen(yuan: int) -> int:
    """Whole yuan (as in the policy texts) to fen."""
    if not isinstance(yuan, int) or isinstance(yuan, bool):
        raise TypeError("yuan must be an int; use fen for fractions")
    return yuan * 100
