"""How well one supplier fits one demand, as named components that explanations quote.

Every component is in [0, 1]; the score is their weighted sum, so a reason in an
explanation is always a term that moved the score. The fairness term lifts suppliers
shown rarely in the last 90 days (``exposure_lift``); its weight is small enough that it
reorders near-ties among capable suppliers and never lifts an incapable one, because a
supplier covering none of the required capabilities is not a candidate at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from matching.domain.catalogue import BY_CODE, district_name


@dataclass(frozen=True)
class Weights:
    text: float = 0.22
    coverage: float = 0.35
    capacity: float = 0.05
    price: float = 0.11
    locality: float = 0.07
    rating: float = 0.08
    fairness: float = 0.12

    def as_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


DEFAULT_WEIGHTS = Weights()
#: Exposures (shown or offered, last 90 days) at which the fairness lift halves.
EXPOSURE_HALF_LIFE = 5.0
#: Bayesian prior of the rating: an unrated supplier counts as PRIOR_COUNT ratings of PRIOR_MEAN.
RATING_PRIOR_MEAN = 3.5
RATING_PRIOR_COUNT = 3.0


@dataclass(frozen=True)
class DemandQuery:
    """What ranking needs from a demand."""

    text: str
    capabilities: dict[str, int]  # code → weight ≥ 1
    budget_min_fen: int | None = None
    budget_max_fen: int | None = None
    district: str | None = None  # None: anywhere
    exclude: frozenset[UUID] = frozenset()


@dataclass(frozen=True)
class SupplierFacts:
    """What ranking needs from a supplier profile."""

    firm_id: UUID
    firm_name: str
    district: str
    capabilities: tuple[str, ...]
    description: str = ""
    capacity: int = 1
    active_engagements: int = 0
    price_min_fen: int | None = None
    price_max_fen: int | None = None
    rating_sum: int = 0  # sum of 1–5 stars over completed engagements
    rating_count: int = 0
    exposures_90d: int = 0
    matchable: bool = True  # active in the registry and available


@dataclass(frozen=True)
class Candidate:
    firm_id: UUID
    score: float
    components: dict[str, float]
    covered: tuple[str, ...]
    missing: tuple[str, ...]
    explanation: dict[str, str] = field(default_factory=dict)


def price_fit(price_min_fen: int | None, budget_max_fen: int | None) -> float:
    """1 when the supplier's floor is within budget, budget/floor above it; 0.5 when either is unknown."""
    if price_min_fen is None or budget_max_fen is None:
        return 0.5
    if price_min_fen <= budget_max_fen:
        return 1.0
    return budget_max_fen / price_min_fen


def rating_value(rating_sum: int, rating_count: int) -> float:
    """Smoothed mean stars mapped to [0, 1]."""
    mean = (rating_sum + RATING_PRIOR_MEAN * RATING_PRIOR_COUNT) / (rating_count + RATING_PRIOR_COUNT)
    return (mean - 1.0) / 4.0


def exposure_lift(exposures: float) -> float:
    return EXPOSURE_HALF_LIFE / (EXPOSURE_HALF_LIFE + exposures)


def explain(
    query: DemandQuery, supplier: SupplierFacts, components: dict[str, float], covered: list[str], missing: list[str]
) -> dict[str, str]:
    """The reasons, zh-CN and en, each one a fact that entered the score."""
    required = len(query.capabilities)
    zh: list[str] = []
    en: list[str] = []
    names_zh = "、".join(BY_CODE[c].zh for c in covered)
    names_en = ", ".join(BY_CODE[c].en for c in covered)
    zh.append(f"覆盖所需能力 {len(covered)}/{required}：{names_zh}")
    en.append(f"covers {len(covered)}/{required} required capabilities: {names_en}")
    if missing:
        zh.append("缺少：" + "、".join(BY_CODE[c].zh for c in missing))
        en.append("missing: " + ", ".join(BY_CODE[c].en for c in missing))
    if components["text"] >= 0.5:
        zh.append("简介与需求描述高度相关")
        en.append("profile text closely matches the demand")
    elif components["text"] > 0:
        zh.append("简介与需求描述部分相关")
        en.append("profile text partly matches the demand")
    if query.district is not None:
        if supplier.district == query.district:
            zh.append(f"同在{district_name(supplier.district, 'zh-CN')}")
            en.append(f"also in {district_name(supplier.district, 'en')}")
        else:
            zh.append(f"位于{district_name(supplier.district, 'zh-CN')}（需求在{district_name(query.district, 'zh-CN')}）")
            en.append(f"based in {district_name(supplier.district, 'en')} (demand in {district_name(query.district, 'en')})")
    if supplier.price_min_fen is not None and query.budget_max_fen is not None:
        if supplier.price_min_fen <= query.budget_max_fen:
            zh.append(f"起步价 {supplier.price_min_fen / 100:,.0f} 元在预算内")
            en.append(f"starting price ¥{supplier.price_min_fen / 100:,.0f} within budget")
        else:
            over = round((supplier.price_min_fen - query.budget_max_fen) * 100 / query.budget_max_fen)
            zh.append(f"起步价高于预算 {over}%")
            en.append(f"starting price {over}% over budget")
    left = supplier.capacity - supplier.active_engagements
    zh.append(f"可再接 {left} 单")
    en.append(f"can take {left} more engagement{'s' if left != 1 else ''}")
    if supplier.rating_count:
        mean = supplier.rating_sum / supplier.rating_count
        zh.append(f"评分 {mean:.1f}（{supplier.rating_count} 次完成）")
        en.append(
            f"rated {mean:.1f} over {supplier.rating_count} completed engagement{'s' if supplier.rating_count != 1 else ''}"
        )
    else:
        zh.append("尚无评分")
        en.append("not yet rated")
    zh.append(f"近 90 天获推荐 {supplier.exposures_90d} 次")
    en.append(f"recommended {supplier.exposures_90d} time{'s' if supplier.exposures_90d != 1 else ''} in the last 90 days")
    return {"zh-CN": "；".join(zh), "en": "; ".join(en)}
