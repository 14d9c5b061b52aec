"""Answers of reads that change rarely (a catalogue), kept for a moment by the process that read them.

A static catalogue read on every request cost as much as a case read (a query, rows, validation): at
hundreds of requests a second, keeping the answer for a second spares nearly all of that work. The rule
is the one the registry's working-day calendar follows: a read-only unit of work (a GET) may use an answer
read at most ``max_age_s`` ago, so an edit on another replica shows everywhere within that time; a write
reads the database itself and clears the cache of its process, so the writer's own next read sees it.

Each :class:`~opc_shared.db.Database` owns one cache (one app, one database). Cached values are shared
between requests: hand out only values nobody mutates (rows that are validated into response models).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

#: How stale a catalogue a read may see: one edit reaches every replica's reads within it.
READ_MAX_AGE_S = 1.0


class _UnitOfWork(Protocol):
    read_only: bool


class ReadCache:
    def __init__(self, max_age_s: float = READ_MAX_AGE_S, max_entries: int = 256) -> None:
        self.max_age_s = max_age_s
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, Any]] = {}

    async def get(self, uow: _UnitOfWork, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        """``load()``'s answer, or the same answer read less than ``max_age_s`` ago by a read-only unit
        of work; a unit of work that may write always loads (it must see what its transaction sees)."""
        if not getattr(uow, "read_only", False):
            return await load()
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and now - hit[0] <= self.max_age_s:
            return hit[1]  # type: ignore[no-any-return]
        value = await load()
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (now, value)
        return value

    def clear(self) -> None:
        """Forget every answer: call it from each write that changes what the cached reads return."""
        self._entries.clear()
