from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header

from opc_shared.problems import FieldError, validation_problem


async def _if_match(if_match: Annotated[str | None, Header(alias="If-Match")] = None) -> int | None:
    """The case's version, as sent back from its ETag ("3", W/"3" or 3)."""
    if if_match is None:
        return None
    raw = if_match.strip().removeprefix("W/").strip('"')
    if not raw.isdigit():
        raise validation_problem([FieldError("If-Match", 'must be the ETag of the case, e.g. "3"', "value_error", "header")])
    return int(raw)


IfMatch = Annotated[int | None, Depends(_if_match)]
