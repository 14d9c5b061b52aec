"""The ledger benchmark's batches stay within the webhook contract (1 to 1,000 records) whatever the duplicate share."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # ledger.py imports its neighbour loadgen.py, as when run as a script
_spec = importlib.util.spec_from_file_location("ledger_bench", Path(__file__).with_name("ledger.py"))
ledger_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ledger_bench)


@pytest.mark.parametrize("share", [0.0, 0.001, 0.1, 0.5])
def test_batches_hold_at_most_a_batch_and_repeat_only_records_sent_before(share: float) -> None:
    records = list(range(5_500))
    batches = ledger_bench.with_duplicates(records, share, 1000)
    assert all(1 <= len(b) <= 1000 and len(set(b)) == len(b) for b in batches)
    sent: list[int] = []
    repeated = 0
    for b in batches:
        before = set(sent)
        repeated += sum(1 for r in b if r in before)
        sent += [r for r in b if r not in before]
    assert sent == records  # each record is new once, in order; the rest are repeats of earlier batches
    assert repeated == sum(len(b) for b in batches) - len(records)
    if share == 0.0:
        assert repeated == 0
