"""Rating a usage record with the vendor's price table in force at its start, and flagging disagreement.

Prices are tax included (like the vendor's ``amount_fen``), exact decimals of fen:
per GPU-hour for GPUs, per million tokens for models. A record is rated once, rounding the exact
product half-up to a whole fen (``ROUND_HALF_UP``); nothing is rounded before that.
The vendor's amount is never changed: a difference beyond the tolerance only flags the record.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

SECONDS_PER_HOUR = Decimal(3600)
MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Price:
    kind: str  # gpu | tokens
    resource: str
    version: int
    effective_from: datetime
    fen_per_gpu_hour: Decimal | None = None
    fen_per_m_input: Decimal | None = None
    fen_per_m_cached_input: Decimal | None = None
    fen_per_m_output: Decimal | None = None


def to_fen(exact: Decimal) -> int:
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def rate_gpu(price: Price, gpu_seconds: int) -> int:
    assert price.fen_per_gpu_hour is not None
    return to_fen(price.fen_per_gpu_hour * gpu_seconds / SECONDS_PER_HOUR)


def rate_tokens(price: Price, input_tokens: int, cached_input_tokens: int, output_tokens: int) -> int:
    exact = (
        (price.fen_per_m_input or 0) * input_tokens
        + (price.fen_per_m_cached_input or 0) * cached_input_tokens
        + (price.fen_per_m_output or 0) * output_tokens
    ) / MILLION
    return to_fen(exact)


class PriceBook:
    """One vendor's price tables: for each (kind, resource) the versions sorted by effective date."""

    def __init__(self, prices: list[Price]) -> None:
        self._by_resource: dict[tuple[str, str], list[Price]] = {}
        for price in sorted(prices, key=lambda p: p.effective_from):
            self._by_resource.setdefault((price.kind, price.resource), []).append(price)
        self._starts = {key: [p.effective_from for p in versions] for key, versions in self._by_resource.items()}

    def in_force(self, kind: str, resource: str, at: datetime) -> Price | None:
        versions = self._by_resource.get((kind, resource))
        if not versions:
            return None
        i = bisect_right(self._starts[(kind, resource)], at)
        return versions[i - 1] if i else None


@dataclass(frozen=True)
class Tolerance:
    """A vendor's amount may differ from our rating by ``max(min_fen, rated × bp / 10000)``."""

    bp: int
    min_fen: int

    def allowed(self, rated: int) -> Decimal:
        return max(Decimal(self.min_fen), Decimal(rated) * self.bp / 10_000)


def verdict(amount_fen: int, rated_fen: int | None, tolerance: Tolerance) -> str | None:
    """None when the vendor's amount agrees; else ``unpriced``, ``over`` or ``under``."""
    if rated_fen is None:
        return "unpriced"
    if abs(amount_fen - rated_fen) <= tolerance.allowed(rated_fen):
        return None
    return "over" if amount_fen > rated_fen else "under"
