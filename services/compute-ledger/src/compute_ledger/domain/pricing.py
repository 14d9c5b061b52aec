"""Rating a usage record with the vendor's price table in force at its start, and flagging disagreement.

Prices are tax included (like the vendor's ``amount_fen``), exact decimals of fen:
per GPU-hour for GPUs, per million tokens for models. A record is rated once, rounding the exact
product half-up to a whole fen (``ROUND_HALF_UP``); nothing is rounded before that.
The vendor's amount is never changed: a difference beyond the tolerance only flags the record.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from math import lcm

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


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
    #: The exact rates as integer fractions, worked out once per price (not once per record):
    #: (numerator, denominator) per GPU-hour, and per million tokens (input, cached, output
    #: numerators over one common denominator).
    _gpu: tuple[int, int] = field(init=False, repr=False, compare=False)
    _tokens: tuple[int, int, int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_gpu", _ratio(self.fen_per_gpu_hour))
        parts = [_ratio(r) for r in (self.fen_per_m_input, self.fen_per_m_cached_input, self.fen_per_m_output)]
        common = lcm(*(den for _, den in parts))
        object.__setattr__(self, "_tokens", (*(num * (common // den) for num, den in parts), common))


def to_fen(exact: Decimal) -> int:
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _ratio(rate: Decimal | None) -> tuple[int, int]:
    return (0, 1) if rate is None else rate.as_integer_ratio()


def _half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator (both ≥ 0) rounded half-up to an integer, exactly."""
    return (2 * numerator + denominator) // (2 * denominator)


def rate_gpu(price: Price, gpu_seconds: int) -> int:
    """price per GPU-hour × seconds / 3600, computed as an exact fraction, rounded half-up once."""
    num, den = price._gpu
    return _half_up(num * gpu_seconds, den * 3600)


def rate_tokens(price: Price, input_tokens: int, cached_input_tokens: int, output_tokens: int) -> int:
    """Σ price per million × tokens / 10⁶, as one exact fraction, rounded half-up once."""
    per_input, per_cached, per_output, common = price._tokens
    numerator = per_input * input_tokens + per_cached * cached_input_tokens + per_output * output_tokens
    return _half_up(numerator, common * 1_000_000)


class PriceBook:
    """One vendor's price tables: for each (kind, resource) the versions sorted by effective date."""

    def __init__(self, prices: list[Price]) -> None:
        self._by_resource: dict[tuple[str, str], list[Price]] = {}
        for price in sorted(prices, key=lambda p: p.effective_from):
            self._by_resource.setdefault((price.kind, price.resource), []).append(price)
        self._starts = {key: [p.effective_from for p in versions] for key, versions in self._by_resource.items()}
        #: the same, with starts as exact microseconds since the epoch (the batch path compares integers:
        #: an aware datetime comparison goes through ``utcoffset``), in one lookup
        self._at_us = {
            key: ([(p.effective_from - _EPOCH) // _MICROSECOND for p in versions], versions)
            for key, versions in self._by_resource.items()
        }

    def in_force(self, kind: str, resource: str, at: datetime) -> Price | None:
        versions = self._by_resource.get((kind, resource))
        if not versions:
            return None
        i = bisect_right(self._starts[(kind, resource)], at)
        return versions[i - 1] if i else None

    def in_force_us(self, kind: str, resource: str, at_us: int) -> Price | None:
        """``in_force`` at ``at_us`` microseconds since the epoch."""
        found = self._at_us.get((kind, resource))
        if found is None:
            return None
        i = bisect_right(found[0], at_us)
        return found[1][i - 1] if i else None

    def rate(
        self,
        kind: str,
        resource: str,
        at_us: int,
        gpu_seconds: int,
        input_tokens: int,
        cached_input_tokens: int,
        output_tokens: int,
    ) -> int | None:
        """A record's amount in fen rated with the price in force at ``at_us``; None when unpriced (no
        price for its resource then, or a GPU price without a GPU-hour rate)."""
        price = self.in_force_us(kind, resource, at_us)
        if price is None:
            return None
        if kind == "gpu":
            return rate_gpu(price, gpu_seconds) if price.fen_per_gpu_hour is not None else None
        return rate_tokens(price, input_tokens, cached_input_tokens, output_tokens)


@dataclass(frozen=True)
class Tolerance:
    """A vendor's amount may differ from our rating by ``max(min_fen, rated × bp / 10000)``."""

    bp: int
    min_fen: int

    def allows(self, difference: int, rated: int) -> bool:
        """|difference| ≤ max(min_fen, rated × bp / 10000), in integers."""
        return abs(difference) * 10_000 <= max(self.min_fen * 10_000, rated * self.bp)


def verdict(amount_fen: int, rated_fen: int | None, tolerance: Tolerance) -> str | None:
    """None when the vendor's amount agrees; else ``unpriced``, ``over`` or ``under``."""
    if rated_fen is None:
        return "unpriced"
    if tolerance.allows(amount_fen - rated_fen, rated_fen):
        return None
    return "over" if amount_fen > rated_fen else "under"
