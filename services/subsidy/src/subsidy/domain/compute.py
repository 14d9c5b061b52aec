"""How much a programme grants, exactly, and why — in words a founder reads and an auditor checks.

Every amount is computed in exact decimals of a fen and rounded DOWN to the fen once, at the
end, so that no payment is ever above what the clause allows; the fraction dropped is stated.
Caps are applied after rounding, each against what the recipient was already granted within
the cap's scope (the year, ever for one-off grants, or the project).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

from subsidy.domain.policy import BASE_LABELS, Policy, Programme

ZERO = Decimal(0)


class Ineligible(ValueError):
    """The facts given cannot be computed under this programme (e.g. an unknown housing class)."""

    def __init__(self, field_name: str, zh: str, en: str) -> None:
        self.field = field_name
        self.zh, self.en = zh, en
        super().__init__(f"{field_name}: {en}")


@dataclass(frozen=True)
class Facts:
    """What the computation rests on; only the fields the programme's kind needs are read."""

    #: The base in fen (invoiced cost, investment, interest, revenue, project funds).
    base_fen: int | None = None
    #: For awards: the amount the assessment (or the applicant) puts forward, in fen.
    requested_fen: int | None = None
    #: Months of normal operation (tiers) or of tenancy (free periods), or days stayed.
    months: int | None = None
    days: int | None = None
    #: Monthly rent (housing, youth rent) or daily rate (youth station), in fen.
    unit_price_fen: int | None = None
    area_m2: Decimal | None = None
    housing_class: str | None = None
    county_new_town: bool = False
    #: Already granted to this recipient within the cap's scope (year / one-off / project).
    already_granted_fen: int = 0
    #: Grants of this programme already made this year (for "≤ N projects a year").
    granted_count: int = 0


@dataclass(frozen=True)
class Computation:
    programme: str
    policy_set: str
    policy_version: str
    amount_fen: int
    #: The exact amount before rounding, in fen (a Decimal).
    exact_fen: Decimal
    #: What rounding down dropped, in fen (0 ≤ dropped < 1).
    dropped_fen: Decimal
    #: What decided the amount: rate, tier, fixed, area, period, cap_year, cap_one_off, cap_project, count, requested.
    limited_by: str
    base_fen: int | None
    rate: Decimal | None
    cap_fen: int | None
    already_granted_fen: int
    explanation: dict[str, str] = field(default_factory=dict)


def fmt_yuan(fen: int | Decimal) -> str:
    """1234567 fen → "12,345.67"; an exact Decimal keeps its extra digits (740.736)."""
    value = Decimal(fen) / 100
    more = ""
    if value == value.quantize(Decimal("0.01")):
        value = value.quantize(Decimal("0.01"))
    elif value != value.quantize(Decimal("0.00000001")):
        value, more = value.quantize(Decimal("0.00000001"), rounding=ROUND_FLOOR), "…"  # a non-terminating fraction
    sign = "-" if value < 0 else ""
    whole, _, frac = f"{abs(value):f}".partition(".")
    return f"{sign}{int(whole):,}" + (f".{frac}" if frac else "") + more


def fmt_rate(rate: Decimal) -> str:
    pct = (rate * 100).normalize()
    return f"{pct:f}%"


def floor_fen(exact: Decimal) -> int:
    return int(exact.to_integral_value(rounding=ROUND_FLOOR))


class _Words:
    """Sentences collected in both languages side by side, so neither can be forgotten."""

    def __init__(self) -> None:
        self.zh: list[str] = []
        self.en: list[str] = []

    def add(self, zh: str, en: str) -> None:
        self.zh.append(zh)
        self.en.append(en)


def evaluate(policy: Policy, programme: Programme, facts: Facts) -> Computation:
    """The amount ``programme`` grants on ``facts`` under ``policy``, with its explanation."""
    words = _Words()
    words.add(
        f"依据《{policy.title_zh}》{programme.clause_zh}（政策版本 {policy.policy_set} {policy.version}），{programme.name_zh}",
        f"Under {programme.clause_en} of the {policy.title_en} (policy version {policy.policy_set} {policy.version}), "
        f"{programme.name_en}",
    )
    exact, limited_by, base_fen = _gross(programme, facts, words)
    amount = floor_fen(exact)
    dropped = exact - amount
    if dropped:
        words.add(
            f"精确结果 {fmt_yuan(exact)} 元，按规定向下取整到分，舍去 {fmt_yuan(dropped)} 元，得 {fmt_yuan(amount)} 元",
            f"the exact result {fmt_yuan(exact)} yuan is rounded down to the fen, dropping {fmt_yuan(dropped)} yuan: "
            f"{fmt_yuan(amount)} yuan",
        )
    else:
        words.add(
            f"结果 {fmt_yuan(amount)} 元为整分，无需取整", f"the result {fmt_yuan(amount)} yuan is whole fen, no rounding needed"
        )
    amount, limited_by, cap = _caps(programme, facts, amount, limited_by, words)
    words.add(f"核定金额 {fmt_yuan(amount)} 元。", f"amount granted: {fmt_yuan(amount)} yuan.")
    return Computation(
        programme=programme.code,
        policy_set=policy.policy_set,
        policy_version=policy.version,
        amount_fen=amount,
        exact_fen=exact,
        dropped_fen=dropped,
        limited_by=limited_by,
        base_fen=base_fen,
        rate=programme.rate,
        cap_fen=cap,
        already_granted_fen=facts.already_granted_fen,
        explanation={"zh-CN": "；".join(words.zh), "en": "; ".join(words.en)},
    )


def _need(value, name: str, zh: str, en: str):
    if value is None:
        raise Ineligible(name, f"缺少{zh}", f"{en} is required")
    if isinstance(value, int | Decimal) and value < 0:
        raise Ineligible(name, f"{zh}不能为负数", f"{en} cannot be negative")
    return value


def _gross(programme: Programme, facts: Facts, words: _Words) -> tuple[Decimal, str, int | None]:
    """The exact amount before caps and before rounding."""
    label_zh, label_en = BASE_LABELS[programme.base]
    if programme.kind == "rate":
        base = _need(facts.base_fen, "base_fen", label_zh, label_en)
        rate = programme.rate or ZERO
        exact = Decimal(base) * rate
        words.add(
            f"{label_zh} {fmt_yuan(base)} 元 × 比例 {fmt_rate(rate)} = {fmt_yuan(exact)} 元",
            f"{label_en} {fmt_yuan(base)} yuan × rate {fmt_rate(rate)} = {fmt_yuan(exact)} yuan",
        )
        return exact, "rate", base
    if programme.kind == "award":
        requested = _need(facts.requested_fen, "requested_fen", "申请（评定）金额", "requested (assessed) amount")
        words.add(f"申请（评定）金额 {fmt_yuan(requested)} 元", f"requested (assessed) amount {fmt_yuan(requested)} yuan")
        return Decimal(requested), "requested", requested
    if programme.kind == "fixed":
        fixed = programme.fixed_fen or 0
        words.add(f"定额 {fmt_yuan(fixed)} 元", f"fixed amount {fmt_yuan(fixed)} yuan")
        return Decimal(fixed), "fixed", None
    if programme.kind == "tiers":
        months = _need(facts.months, "months", "正常经营月数", "months of normal operation")
        reached = [t for t in programme.tiers if months >= t.min_months]
        ladder_zh = "、".join(f"满{t.min_months}个月 {fmt_yuan(t.amount_fen)} 元" for t in programme.tiers)
        ladder_en = ", ".join(f"{t.min_months} months: {fmt_yuan(t.amount_fen)} yuan" for t in programme.tiers)
        if not reached:
            words.add(
                f"正常经营 {months} 个月，未达到最低档（{ladder_zh}）",
                f"{months} months of normal operation, below the first tier ({ladder_en})",
            )
            return ZERO, "tier", None
        top = reached[-1]
        words.add(
            f"正常经营 {months} 个月（暂停经营期间不计），达到满{top.min_months}个月档（{ladder_zh}），"
            f"该档 {fmt_yuan(top.amount_fen)} 元",
            f"{months} months of normal operation (suspended months excluded) reach the {top.min_months}-month tier "
            f"({ladder_en}): {fmt_yuan(top.amount_fen)} yuan",
        )
        return Decimal(top.amount_fen), "tier", None
    if programme.kind == "area_relief":
        cls_code = _need(facts.housing_class, "housing_class", "人才类别", "talent class")
        cls = programme.housing_class(cls_code)
        if cls is None:
            raise Ineligible("housing_class", f"人才类别 {cls_code} 不在 A–F 之内", f"talent class {cls_code} is not one of A–F")
        if cls.county_new_town_only and not facts.county_new_town:
            raise Ineligible(
                "county_new_town",
                f"{cls.code} 类人才仅县市新城可享受租金减免",
                f"class {cls.code} relief applies only in county new towns",
            )
        rent = _need(facts.unit_price_fen, "unit_price_fen", "月租金", "monthly rent")
        area = _need(facts.area_m2, "area_m2", "租住面积", "rented area")
        months = _need(facts.months, "months", "减免月数", "months of relief")
        if area <= 0:
            raise Ineligible("area_m2", "租住面积必须大于0", "rented area must be positive")
        cap_area = programme.area_cap_m2 or area
        covered = min(area, cap_area)
        covered_months = min(months, programme.max_months or months)
        # One division, last: the exact value is a terminating decimal whenever it is a whole fen.
        exact = Decimal(rent) * covered * cls.rate * covered_months / area
        words.add(
            f"月租金 {fmt_yuan(rent)} 元 × 减免面积 {covered:f}/{area:f} 平方米（上限 {cap_area:f} 平方米）"
            f"× {cls.code} 类减免比例 {fmt_rate(cls.rate)} "
            f"× {covered_months} 个月（{programme.max_months} 个月内）= {fmt_yuan(exact)} 元",
            f"monthly rent {fmt_yuan(rent)} yuan × relieved area {covered:f}/{area:f} m² (at most {cap_area:f} m²) "
            f"× class {cls.code} relief {fmt_rate(cls.rate)} "
            f"× {covered_months} months (within {programme.max_months}) = {fmt_yuan(exact)} yuan",
        )
        return exact, "area", None
    if programme.kind == "free_period":
        unit_zh, unit_en = ("天", "days") if programme.unit == "day" else ("个月", "months")
        price = _need(facts.unit_price_fen, "unit_price_fen", "单价（日/月租金）", "daily or monthly price")
        used = _need(
            facts.days if programme.unit == "day" else facts.months,
            "days" if programme.unit == "day" else "months",
            "天数/月数",
            "days or months",
        )
        exact, left = ZERO, used
        parts_zh, parts_en = [], []
        for period in programme.periods:
            n = min(left, period.length)
            left -= n
            exact += Decimal(price) * n * period.rate
            parts_zh.append(f"{n}{unit_zh} × {fmt_yuan(price)} 元 × {fmt_rate(period.rate)}")
            parts_en.append(f"{n} {unit_en} × {fmt_yuan(price)} yuan × {fmt_rate(period.rate)}")
        words.add(
            f"共 {used}{unit_zh}，优惠期 {' + '.join(parts_zh)} = {fmt_yuan(exact)} 元",
            f"{used} {unit_en} in all; relief {' + '.join(parts_en)} = {fmt_yuan(exact)} yuan",
        )
        return exact, "period", None
    raise ValueError(f"unknown programme kind {programme.kind!r}")


def _caps(programme: Programme, facts: Facts, amount: int, limited_by: str, words: _Words) -> tuple[int, str, int | None]:
    tightest: int | None = None
    granted = facts.already_granted_fen
    if programme.count_per_year is not None:
        if facts.granted_count >= programme.count_per_year:
            words.add(
                f"本年已遴选 {facts.granted_count} 个，已达每年不超过 {programme.count_per_year} 个的上限",
                f"{facts.granted_count} already selected this year: the limit of {programme.count_per_year} a year is reached",
            )
            return 0, "count", None
        words.add(
            f"本年第 {facts.granted_count + 1} 个（每年不超过 {programme.count_per_year} 个）",
            f"number {facts.granted_count + 1} this year (at most {programme.count_per_year} a year)",
        )
    for cap, kind, zh, en, counts_granted in (
        (programme.cap_per_project_fen, "cap_project", "单个项目最高", "at most per project", False),
        (programme.cap_per_year_fen, "cap_year", "每年最高", "at most per year", True),
        (programme.cap_one_off_fen, "cap_one_off", "一次性最高", "one-off at most", True),
    ):
        if cap is None:
            continue
        room = max(cap - granted, 0) if counts_granted else cap
        if counts_granted:
            words.add(
                f"{zh} {fmt_yuan(cap)} 元，此前已核定 {fmt_yuan(granted)} 元，尚可 {fmt_yuan(room)} 元",
                f"{en} {fmt_yuan(cap)} yuan, {fmt_yuan(granted)} yuan already granted, {fmt_yuan(room)} yuan left",
            )
        else:
            words.add(f"{zh} {fmt_yuan(cap)} 元", f"{en} {fmt_yuan(cap)} yuan")
        tightest = cap if tightest is None else min(tightest, cap)
        if room < amount:
            amount, limited_by = room, kind
    if programme.kind in ("fixed", "tiers") and granted:
        # One-off and tier grants pay the difference to what was already granted, never twice.
        left = max(amount - granted, 0)
        words.add(
            f"此前已发放 {fmt_yuan(granted)} 元，本次补足差额 {fmt_yuan(left)} 元",
            f"{fmt_yuan(granted)} yuan already granted, this time the difference: {fmt_yuan(left)} yuan",
        )
        amount = left
    return amount, limited_by, tightest


def rate_rule(programme: Programme, already_granted_fen: int = 0) -> tuple[int, int, int | None]:
    """(p, q, ceiling): a ``rate`` programme grants min(base × p // q, ceiling) — the exact floor of
    base × rate, then the tightest cap left after what was already granted."""
    p, q = (programme.rate or ZERO).as_integer_ratio()
    ceiling = programme.cap_per_project_fen
    for cap in (programme.cap_per_year_fen, programme.cap_one_off_fen):
        if cap is not None:
            room = max(cap - already_granted_fen, 0)
            ceiling = room if ceiling is None else min(ceiling, room)
    return p, q, ceiling


def rate_amount(programme: Programme, base_fen: int, already_granted_fen: int = 0) -> int:
    """The amount of a ``rate`` programme in integers only, for re-evaluating 10⁵ firms at once.

    Same rule as :func:`evaluate` (floor of base × rate, then the caps); a unit test holds the
    two equal on random inputs."""
    p, q, ceiling = rate_rule(programme, already_granted_fen)
    amount = max(base_fen, 0) * p // q
    return amount if ceiling is None else min(amount, ceiling)
