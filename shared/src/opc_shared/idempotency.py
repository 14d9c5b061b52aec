"""``Idempotency-Key`` for creating POSTs.

The key's record is written in the same transaction as the thing created, so a retried
request either finds the first response or finds nothing at all. The same key with a
different body is refused with 422; two racing requests with one key produce one effect.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from opc_shared.db import Database, Work
from opc_shared.problems import FieldError, Problem, validation_problem

#: The request's work: it runs inside the transaction that also records the key, and cannot end it.
Action = Callable[[Work], Awaitable[tuple[int, BaseModel]]]


class Idempotency:
    def __init__(self, request: Request, key: str | None) -> None:
        self.request = request
        self.key = key
        self.db: Database = request.app.state.db

    @property
    def scope(self) -> str:
        """Keys are private to their caller and route; read late, after authentication ran."""
        principal = getattr(self.request.state, "principal", None)
        who = principal.sub if principal is not None else "anonymous"
        return f"{who}:{self.request.method}:{self.request.url.path}"

    def _hash(self, body: BaseModel | dict[str, Any] | None) -> str:
        data = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
        canonical = json.dumps({"path": self.request.url.path, "body": data}, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()

    async def execute(self, body: BaseModel | dict[str, Any] | None, work: Action) -> JSONResponse:
        """Run ``work`` in a unit of work (it cannot commit) and commit once, with the key's record."""
        if self.key is None:
            async with self.db.uow() as uow:
                status, model = await work(uow.work())
                await uow.commit()
            return _response(status, model.model_dump(mode="json"))
        request_hash = self._hash(body)
        stored = await self._lookup(request_hash)
        if stored is not None:
            return stored
        table = self.db.platform.idempotency_keys
        try:
            async with self.db.uow() as uow:
                status, model = await work(uow.work())
                payload = model.model_dump(mode="json")
                await uow.session.execute(
                    table.insert().values(
                        scope=self.scope, key=self.key, request_hash=request_hash, status_code=status, response_body=payload
                    )
                )
                await uow.commit()
        except IntegrityError:
            # Lost a race with the same key: the winner's response is the answer, our work rolled back.
            stored = await self._lookup(request_hash)
            if stored is None:
                raise
            return stored
        return _response(status, payload)

    async def _lookup(self, request_hash: str) -> JSONResponse | None:
        table = self.db.platform.idempotency_keys
        async with self.db.sessionmaker() as session:
            row = (
                (await session.execute(select(table).where(table.c.scope == self.scope, table.c.key == self.key)))
                .mappings()
                .first()
            )
        if row is None:
            return None
        if row["request_hash"] != request_hash:
            raise Problem("idempotency_key_reused", 422)
        response = _response(row["status_code"], row["response_body"])
        response.headers["Idempotent-Replayed"] = "true"
        return response


def _response(status: int, payload: Any) -> JSONResponse:
    return JSONResponse(payload, status_code=status)


async def _idempotency(
    request: Request, idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None
) -> Idempotency:
    if idempotency_key is not None and not idempotency_key.strip():
        raise validation_problem([FieldError("Idempotency-Key", "must not be blank", "string_too_short", "header")])
    return Idempotency(request, idempotency_key.strip() if idempotency_key else None)


IdempotencyDep = Annotated[Idempotency, Depends(_idempotency)]
