"""Fair exposure: how evenly offers and impressions are spread over capable suppliers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

OFFER_WINDOW = timedelta(days=30)
EXPOSURE_WINDOW = timedelta(days=90)


def gini(values: Sequence[float]) -> float:
    """Gini coefficient of non-negative values: 0 when all equal, → 1 when one holds everything."""
    n = len(values)
    total = float(sum(values))
    if n == 0 or total == 0:
        return 0.0
    ordered = sorted(values)
    weighted = sum((i + 1) * v for i, v in enumerate(ordered))
    return (2.0 * weighted) / (n * total) - (n + 1.0) / n


@dataclass(frozen=True)
class ExposureReport:
    district: str | None
    active_suppliers: int
    exposure_gini: float
    share_with_offer_30d: float
    offers_30d: int


def report(
    district: str | None,
    exposures_by_supplier: dict[object, int],
    offered_at_by_supplier: dict[object, list[datetime]],
    now: datetime,
) -> ExposureReport:
    """``exposures_by_supplier`` covers every active supplier (zeros included)."""
    since = now - OFFER_WINDOW
    offered = {s for s, times in offered_at_by_supplier.items() if any(since <= t <= now for t in times)}
    active = list(exposures_by_supplier)
    return ExposureReport(
        district=district,
        active_suppliers=len(active),
        exposure_gini=round(gini([exposures_by_supplier[s] for s in active]), 4),
        share_with_offer_30d=round(len(offered & set(active)) / len(active), 4) if active else 0.0,
        offers_30d=sum(1 for times in offered_at_by_supplier.values() for t in times if since <= t <= now),
    )
