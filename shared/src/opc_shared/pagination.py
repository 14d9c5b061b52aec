"""Keyset pagination: one helper for every list of every service.

A list is ordered newest first by (sort column, id column); the cursor names the last row
of the previous page as an opaque URL-safe string, with a check code tied to the list that
issued it. Decoding is typed and checked: the sort value must be an aware timestamp, the id
must parse as the id column's type and the check code must match, so a forged, altered or
foreign cursor is a 422 problem naming ``cursor``, never a 500 from the database. (The check
code is not a secret: a crafted cursor can at worst name a position among the rows the caller
may read anyway.) The limit is bounded by the query parameter itself.

Usage (route, service, response)::

    KEYSET = Keyset(accounts.c.opened_at, accounts.c.firm_id)

    async def list_accounts(session, page: PageParams) -> Page[dict]:
        return await KEYSET.fetch(session, select(accounts), page)   # apply + execute + page

    @router.get("", response_model=PageOut[AccountOut])
    async def list_all(page: PageDep, uow: UowDep) -> PageOut[AccountOut]:
        return PageOut.of(await service.list_accounts(uow.session, page), AccountOut)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from opc_shared.problems import FieldError, validation_problem

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
MAX_CURSOR_LENGTH = 500


@dataclass(frozen=True)
class PageParams:
    """What a client asks of a list: where to continue, and how many rows."""

    cursor: str | None = None
    limit: int = DEFAULT_LIMIT


async def _page_params(
    cursor: Annotated[
        str | None, Query(max_length=MAX_CURSOR_LENGTH, description="next_cursor of the previous page; omit for the first")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="rows per page")] = DEFAULT_LIMIT,
) -> PageParams:
    return PageParams(cursor=cursor, limit=limit)


PageDep = Annotated[PageParams, Depends(_page_params)]


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None

    def map(self, fn: Callable[[T], M]) -> Page[M]:
        return Page([fn(item) for item in self.items], self.next_cursor)


class PageOut(BaseModel, Generic[T]):
    """Every list answers ``{items, next_cursor}``; ``next_cursor`` is null on the last page."""

    items: list[T]
    next_cursor: str | None = None

    @classmethod
    def of(cls, page: Page[Any], model: type[M]) -> PageOut[M]:
        return PageOut[model](items=[model.model_validate(i) for i in page.items], next_cursor=page.next_cursor)  # type: ignore[valid-type]


def _cursor_error() -> Exception:
    return validation_problem([FieldError("cursor", "not a cursor this API issued", "value_error", "query")])


class Keyset:
    """Newest-first keyset over ``(sort, id)``; ``id_type`` parses the id from the cursor."""

    def __init__(self, sort: ColumnElement[Any], id: ColumnElement[Any], *, id_type: Callable[[str], Any] = uuid.UUID) -> None:
        self.sort, self.id, self.id_type = sort, id, id_type

    @property
    def _list_name(self) -> str:
        return f"{getattr(self.sort, 'table', '')}.{self.sort.key}/{self.id.key}"

    def _check(self, sort_text: str, id_text: str) -> str:
        return hashlib.sha256(f"{self._list_name}|{sort_text}|{id_text}".encode()).hexdigest()[:12]

    def encode(self, sort_value: datetime, last_id: object) -> str:
        sort_text, id_text = sort_value.astimezone(UTC).isoformat(), str(last_id)
        raw = json.dumps([sort_text, id_text, self._check(sort_text, id_text)], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode(self, cursor: str) -> tuple[datetime, Any]:
        """(sort value, id) or a 422 problem naming ``cursor``."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            sort_text, id_text, check = json.loads(raw)
            if not all(isinstance(part, str) for part in (sort_text, id_text, check)):
                raise ValueError("cursor parts must be strings")
            if not hmac.compare_digest(check, self._check(sort_text, id_text)):
                raise ValueError("not issued by this list")
            at = datetime.fromisoformat(sort_text)
            if at.tzinfo is None:
                raise ValueError("naive timestamp")
            return at.astimezone(UTC), self.id_type(id_text)
        except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError, AttributeError) as exc:
            raise _cursor_error() from exc

    def apply(self, query: Select[Any], page: PageParams) -> Select[Any]:
        """Order newest first, continue after the cursor, fetch one row more than the limit."""
        query = query.order_by(self.sort.desc(), self.id.desc()).limit(page.limit + 1)
        if page.cursor:
            at, last = self.decode(page.cursor)
            query = query.where(tuple_(self.sort, self.id) < tuple_(at, last))
        return query

    async def fetch(self, session: AsyncSession, query: Select[Any], page: PageParams) -> Page[dict[str, Any]]:
        """Run ``query`` as one page: :meth:`apply`, execute, :meth:`page`."""
        rows = [dict(r) for r in (await session.execute(self.apply(query, page))).mappings()]
        return self.page(rows, page)

    def page(self, rows: Sequence[Mapping[str, Any]], page: PageParams) -> Page[Any]:
        """Cut the extra row off and name the last kept one in ``next_cursor``."""
        items = list(rows[: page.limit])
        if len(rows) <= page.limit:
            return Page(items, None)
        last = items[-1]
        return Page(items, self.encode(last[self.sort.key], last[self.id.key]))
