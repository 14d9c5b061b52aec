"""Optimistic concurrency for things people edit at the same time (cases, claims, demands…).

An aggregate's integer version is its ETag (``"3"``). Every state-changing action on such an
aggregate takes :data:`IfMatch`: without the header the answer is 428 ``precondition_required``,
with a version that is no longer current 412 ``version_mismatch`` (checked by
:func:`check_version` once the aggregate is loaded, locked). Two people acting on the same
version therefore cannot both win, and nobody acts on a state they have not seen.

Usage::

    @router.post("/{claim_id}/approve")
    async def approve(claim_id: UUID, version: IfMatch, uow: UowDep, ...) -> JSONResponse:
        claim = await service.approve(uow, claim_id, version=version, ...)  # calls check_version
        return with_etag(ClaimOut.model_validate(claim), claim.version)
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header
from fastapi.responses import Response
from pydantic import BaseModel

from opc_shared.errors import VersionMismatch
from opc_shared.problems import FieldError, validation_problem

IF_MATCH_PATTERN = r'^\s*(W/)?"?[0-9]{1,18}"?\s*$'
IF_MATCH_DOC = 'The ETag of the version you last read, e.g. "3" (412 when it is no longer current).'


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(raw: str) -> int:
    """The version in an If-Match value: ``"3"`` (also tolerated: ``W/"3"`` and a bare ``3``)."""
    value = raw.strip().removeprefix("W/").strip().strip('"')
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise validation_problem([FieldError("If-Match", 'must be the ETag you last read, e.g. "3"', "value_error", "header")])
    return int(value)


async def _required_if_match(
    if_match: Annotated[str, Header(alias="If-Match", description=IF_MATCH_DOC, pattern=IF_MATCH_PATTERN)],
) -> int:
    # A missing header is turned into 428 by problems.install (it sees the "missing If-Match" error).
    return parse_if_match(if_match)


async def _optional_if_match(
    if_match: Annotated[str | None, Header(alias="If-Match", description=IF_MATCH_DOC, pattern=IF_MATCH_PATTERN)] = None,
) -> int | None:
    return None if if_match is None else parse_if_match(if_match)


#: The version the client acts on; required (428 without it).
IfMatch = Annotated[int, Depends(_required_if_match)]
#: For reads that may carry If-Match; None when absent.
OptionalIfMatch = Annotated[int | None, Depends(_optional_if_match)]


def check_version(current: int, sent: int) -> None:
    """412 unless the client acted on the current version (a DomainError: use cases call it)."""
    if current != sent:
        raise VersionMismatch(current=current, sent=sent)


def with_etag(body: BaseModel, version: int, status: int = 200) -> Response:
    """A JSON response about one aggregate, tagged with its version; serialised by pydantic-core straight
    to bytes (no intermediate dict and ``json.dumps``, as FastAPI does for a returned model)."""
    return Response(body.model_dump_json(), status_code=status, headers={"ETag": etag(version)}, media_type="application/json")


def requires_if_match(dependant: object) -> bool:
    """Whether a route (its FastAPI dependant) takes :data:`IfMatch`; used to document 412/428."""
    stack = [dependant]
    while stack:
        dep = stack.pop()
        if getattr(dep, "call", None) is _required_if_match:
            return True
        stack.extend(getattr(dep, "dependencies", ()))
    return False
