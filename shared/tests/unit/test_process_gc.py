"""A long-running service process tunes the cyclic garbage collector for bursts of short-lived objects."""

from __future__ import annotations

import gc

from opc_shared.cli import YOUNG_GC_THRESHOLD, tune_gc


def test_tune_gc_raises_only_the_young_generation_threshold() -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        tune_gc()
        assert gc.get_threshold() == (YOUNG_GC_THRESHOLD, 10, 10)
        # a burst like a 1,000-record batch (~10 containers a record) no longer triggers a young collection
        start = gc.get_stats()[0]["collections"]
        burst = [{"record": i, "fields": [i, str(i)], "flags": ()} for i in range(3_000)]
        assert gc.get_stats()[0]["collections"] == start
        del burst
    finally:
        gc.set_threshold(*before)
