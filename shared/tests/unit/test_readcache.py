"""A rarely changing answer is reused by reads for at most max_age_s, never by a unit of work that may
write, and forgotten when the process writes."""

from __future__ import annotations

from dataclasses import dataclass

from opc_shared.readcache import ReadCache


@dataclass
class Uow:
    read_only: bool


class Source:
    def __init__(self) -> None:
        self.value = 1
        self.loads = 0

    async def load(self) -> int:
        self.loads += 1
        return self.value


async def test_reads_reuse_an_answer_until_it_is_too_old() -> None:
    cache, source = ReadCache(max_age_s=60), Source()
    assert await cache.get(Uow(True), "k", source.load) == 1
    source.value = 2
    assert await cache.get(Uow(True), "k", source.load) == 1, "fresh enough: reused"
    assert source.loads == 1
    assert await cache.get(Uow(True), "other", source.load) == 2, "another key is another answer"
    cache.max_age_s = 0.0
    assert await cache.get(Uow(True), "k", source.load) == 2, "too old: read again"


async def test_a_unit_of_work_that_may_write_always_reads_and_a_write_clears() -> None:
    cache, source = ReadCache(max_age_s=60), Source()
    await cache.get(Uow(True), "k", source.load)
    source.value = 2
    assert await cache.get(Uow(False), "k", source.load) == 2
    assert await cache.get(Uow(True), "k", source.load) == 1, "the write's own read was not cached"
    cache.clear()
    assert await cache.get(Uow(True), "k", source.load) == 2


async def test_the_cache_stays_bounded() -> None:
    cache, source = ReadCache(max_age_s=60, max_entries=3), Source()
    for key in range(10):
        await cache.get(Uow(True), key, source.load)
    assert len(cache._entries) <= 3
