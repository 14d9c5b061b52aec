"""Each replica's in-memory supplier index, kept fresh from the database.

The database is the truth; a replica's index is a cache of ``supplier_profiles``. Before a
ranking, the holder reads the rows whose ``changed_at`` (set by the database with
``clock_timestamp()`` on every write) is newer than what it has seen, minus an overlap that
covers transactions which stamped their rows earlier but committed later; a row whose
version the index already holds is skipped. So an edit or a suspension committed on any
replica is in every replica's very next ranking, with no broker round trip and no nightly
rebuild. Exposure counts for the fairness term are re-read every half minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import RowMapping, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from matching.adapters import tables as t
from matching.adapters.repository import facts_from
from matching.domain.exposure import EXPOSURE_WINDOW
from matching.domain.index import SupplierIndex

OVERLAP = timedelta(seconds=30)


@dataclass
class IndexHolder:
    index: SupplierIndex = field(default_factory=SupplierIndex)
    max_age_s: float = 0.0  # every ranking first reads what changed (an indexed query over the last OVERLAP)
    exposure_max_age_s: float = 30.0
    _versions: dict[UUID, int] = field(default_factory=dict)
    _watermark: datetime | None = None
    _refreshed: float = float("-inf")
    _exposures_read: float = float("-inf")
    _exposures: dict[UUID, int] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_refresh_s: float = 0.0
    last_applied: int = 0
    #: a first load of more profile rows than this is applied on a worker thread
    first_load_off_loop: int = 1_000

    async def fresh(self, session: AsyncSession, now: datetime, *, force: bool = False) -> SupplierIndex:
        """The index, first brought up to date if it is older than ``max_age_s``."""
        if force or self._stale():
            async with self._lock:
                if force or self._stale():
                    await self._refresh(session, now)
        return self.index

    def _stale(self) -> bool:
        return time.monotonic() - self._refreshed > self.max_age_s

    @contextlib.asynccontextmanager
    async def held(self, session: AsyncSession, now: datetime) -> AsyncIterator[SupplierIndex]:
        """The index brought up to date and left unchanged until the block ends, for work that reads it
        off the event loop (a worker thread). Only a refresh changes the index, and refreshes take the
        same lock: a ranking that needs one meanwhile waits, while the event loop serves everything else."""
        async with self._lock:
            if self._stale():
                await self._refresh(session, now)
            yield self.index

    def _apply(self, rows: Sequence[RowMapping]) -> int:
        """Profile rows into the index (those whose version it does not hold yet); how many were applied."""
        applied = 0
        for row in rows:
            if self._watermark is None or row["changed_at"] > self._watermark:
                self._watermark = row["changed_at"]
            if self._versions.get(row["firm_id"]) == row["version"]:
                continue
            self._versions[row["firm_id"]] = row["version"]
            facts = facts_from(row, self._exposures.get(row["firm_id"], 0))
            if facts.matchable or facts.firm_id in self.index:
                self.index.upsert(facts)
            applied += 1
        return applied

    async def _refresh(self, session: AsyncSession, now: datetime) -> None:
        started = time.perf_counter()
        reread_exposures = time.monotonic() - self._exposures_read > self.exposure_max_age_s
        if reread_exposures:
            rows = await session.execute(
                select(t.exposures.c.firm_id, func.count())
                .where(t.exposures.c.at > now - EXPOSURE_WINDOW, t.exposures.c.at <= now)
                .group_by(t.exposures.c.firm_id)
            )
            self._exposures = {firm: int(n) for firm, n in rows.all()}
            self._exposures_read = time.monotonic()
        p = t.supplier_profiles
        query = select(p)
        if self._watermark is not None:
            query = query.where(p.c.changed_at > self._watermark - OVERLAP)
        first_load = self._watermark is None
        rows = (await session.execute(query)).mappings().all()
        if first_load and len(rows) > self.first_load_off_loop:
            # A replica's first load (after a start: every profile, seconds of tokenising and indexing at
            # 100,000) runs on a worker thread, so the process answers its other requests and health probes
            # meanwhile. Nothing reads the index yet: every reader waits for this lock (it is stale until now).
            applied = await asyncio.to_thread(self._apply, rows)
        else:
            applied = self._apply(rows)
        if reread_exposures:
            for facts in self.index.live_facts():
                count = self._exposures.get(facts.firm_id, 0)  # 0 once its exposures left the window
                if facts.exposures_90d != count:
                    self.index.set_exposure(facts.firm_id, count)
        if first_load and applied > 10_000:
            gc.collect()
            gc.freeze()  # a full load's objects live as long as the process: keep them out of GC passes
        self._refreshed = time.monotonic()
        self.last_refresh_s = time.perf_counter() - started
        self.last_applied = applied


def holder_of(app_state: object) -> IndexHolder:
    holder = getattr(app_state, "matching_index", None)
    if holder is None:
        holder = IndexHolder()
        app_state.matching_index = holder  # type: ignore[attr-defined]
    return holder
