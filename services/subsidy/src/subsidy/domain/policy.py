"""A city's subsidy policy as data: programmes, bases, rates, caps and tiers, dated and versioned.

The plan's text is the law here; code only interprets the few shapes a programme can take
(``kind``). A new city or a revised plan is a new file or a new version, never new code.
Amounts in policy files are whole yuan, as the plans write them; everything computed is fen.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

CHENGDU_CODES = (
    "compute",
    "model_voucher",
    "community_municipal_incubator",
    "community_national_incubator",
    "graduate_founder",
    "competition_award",
    "talent_recruitment",
    "order_training",
    "practice_base",
    "craftsman",
    "youth_station",
    "youth_rent",
    "talent_housing",
    "open_competition",
    "film_platform",
    "ip_innovation",
    "hit_product",
    "scenario_demo",
    "equity_financing",
    "loan_interest",
)

Kind = Literal["rate", "award", "fixed", "tiers", "area_relief", "free_period"]
KINDS: tuple[str, ...] = ("rate", "award", "fixed", "tiers", "area_relief", "free_period")
RECIPIENTS = ("firm", "community", "training_operator", "person")
MODES = ("automatic", "application")
BASES = (
    "invoiced_compute_cost",
    "invoiced_token_cost",
    "investment_amount",
    "interest_paid",
    "sales_revenue",
    "scenario_investment",
    "project_funds",
    "assessed_amount",
    "months_of_normal_operation",
    "area_months",
    "rent_months",
    "stay_days",
    "fixed_amount",
)
BASE_LABELS: dict[str, tuple[str, str]] = {
    "invoiced_compute_cost": ("已开票算力费用", "invoiced compute cost"),
    "invoiced_token_cost": ("已开票模型调用（Token）费用", "invoiced token cost"),
    "investment_amount": ("实际投资额", "actual investment"),
    "interest_paid": ("已付贷款利息", "loan interest paid"),
    "sales_revenue": ("年度销售收入", "annual sales revenue"),
    "scenario_investment": ("场景建设实际投入", "actual scenario investment"),
    "project_funds": ("项目资金总额", "total project funds"),
    "assessed_amount": ("评定金额", "assessed amount"),
    "months_of_normal_operation": ("正常经营月数", "months of normal operation"),
    "area_months": ("面积 × 月数", "area × months"),
    "rent_months": ("月租金 × 月数", "monthly rent × months"),
    "stay_days": ("入住天数", "days stayed"),
    "fixed_amount": ("定额", "fixed amount"),
}


class PolicyError(ValueError):
    """A policy document that cannot be used, with the path of the offending field."""

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        super().__init__(f"{where}: {message}")


def yuan(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PolicyError(where, "must be a whole, non-negative number of yuan")
    return value * 100


def decimal(value: Any, where: str, *, upper: Decimal | None = Decimal(1)) -> Decimal:
    """Rates are written as strings ("0.60") so that no float ever carries them."""
    if not isinstance(value, str):
        raise PolicyError(where, 'must be a decimal written as a string, e.g. "0.60"')
    try:
        d = Decimal(value)
    except InvalidOperation:
        raise PolicyError(where, f"{value!r} is not a decimal") from None
    if not d.is_finite() or d < 0 or (upper is not None and d > upper):
        raise PolicyError(where, f"{value!r} is out of range")
    return d


@dataclass(frozen=True)
class Evidence:
    kind: str
    label_zh: str
    label_en: str
    #: The document's number may back at most one claim, across programmes and years.
    unique: bool = False


@dataclass(frozen=True)
class Tier:
    min_months: int
    amount_fen: int


@dataclass(frozen=True)
class HousingClass:
    code: str
    rate: Decimal
    county_new_town_only: bool = False


@dataclass(frozen=True)
class Period:
    length: int
    rate: Decimal


@dataclass(frozen=True)
class Programme:
    code: str
    name_zh: str
    name_en: str
    clause: str
    lead_bureau: str
    recipient: str
    mode: str
    kind: str
    base: str
    rate: Decimal | None = None
    cap_per_year_fen: int | None = None
    cap_one_off_fen: int | None = None
    cap_per_project_fen: int | None = None
    count_per_year: int | None = None
    fixed_fen: int | None = None
    tiers: tuple[Tier, ...] = ()
    classes: tuple[HousingClass, ...] = ()
    area_cap_m2: Decimal | None = None
    max_months: int | None = None
    periods: tuple[Period, ...] = ()
    unit: str | None = None
    eligibility: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()

    @property
    def clause_zh(self) -> str:
        return f"第{self.clause}条"

    @property
    def clause_en(self) -> str:
        return f"clause {self.clause}"

    def housing_class(self, code: str) -> HousingClass | None:
        return next((c for c in self.classes if c.code == code), None)


@dataclass(frozen=True)
class Policy:
    """One version of a city's policy set."""

    policy_set: str
    city: str
    version: str
    effective_from: date
    valid_from: date
    valid_until: date
    title_zh: str
    title_en: str
    parameters: Mapping[str, Any]
    programmes: Mapping[str, Programme] = field(default_factory=dict)

    def programme(self, code: str) -> Programme:
        try:
            return self.programmes[code]
        except KeyError:
            raise PolicyError("programme", f"{code!r} is not a programme of {self.policy_set} {self.version}") from None

    @property
    def cost_basis(self) -> str:
        return str(self.parameters.get("cost_basis", "tax_included"))

    @property
    def review_working_days(self) -> int:
        return int(self.parameters.get("review_working_days", 20))

    def covers(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_until


def _programme(raw: Mapping[str, Any], where: str) -> Programme:
    def need(key: str) -> Any:
        if key not in raw:
            raise PolicyError(f"{where}.{key}", "is required")
        return raw[key]

    kind, base, recipient, mode = need("kind"), need("base"), need("recipient"), need("mode")
    for key, value, allowed in (
        ("kind", kind, KINDS),
        ("base", base, BASES),
        ("recipient", recipient, RECIPIENTS),
        ("mode", mode, MODES),
    ):
        if value not in allowed:
            raise PolicyError(f"{where}.{key}", f"{value!r} is not one of {', '.join(allowed)}")
    p = Programme(
        code=need("code"),
        name_zh=need("name_zh"),
        name_en=need("name_en"),
        clause=need("clause"),
        lead_bureau=need("lead_bureau"),
        recipient=recipient,
        mode=mode,
        kind=kind,
        base=base,
        rate=decimal(raw["rate"], f"{where}.rate") if "rate" in raw else None,
        cap_per_year_fen=yuan(raw["cap_per_year_yuan"], f"{where}.cap_per_year_yuan") if "cap_per_year_yuan" in raw else None,
        cap_one_off_fen=yuan(raw["cap_one_off_yuan"], f"{where}.cap_one_off_yuan") if "cap_one_off_yuan" in raw else None,
        cap_per_project_fen=yuan(raw["cap_per_project_yuan"], f"{where}.cap_per_project_yuan")
        if "cap_per_project_yuan" in raw
        else None,
        count_per_year=int(raw["count_per_year"]) if "count_per_year" in raw else None,
        fixed_fen=yuan(raw["fixed_yuan"], f"{where}.fixed_yuan") if "fixed_yuan" in raw else None,
        tiers=tuple(
            Tier(int(t["min_months"]), yuan(t["amount_yuan"], f"{where}.tiers[{i}].amount_yuan"))
            for i, t in enumerate(raw.get("tiers", []))
        ),
        classes=tuple(
            HousingClass(str(c["code"]), decimal(c["rate"], f"{where}.classes[{i}].rate"), bool(c.get("county_new_town_only")))
            for i, c in enumerate(raw.get("classes", []))
        ),
        area_cap_m2=decimal(raw["area_cap_m2"], f"{where}.area_cap_m2", upper=None) if "area_cap_m2" in raw else None,
        max_months=int(raw["max_months"]) if "max_months" in raw else None,
        periods=tuple(
            Period(int(x["length"]), decimal(x["rate"], f"{where}.periods[{i}].rate"))
            for i, x in enumerate(raw.get("periods", []))
        ),
        unit=raw.get("unit"),
        eligibility=tuple(raw.get("eligibility", [])),
        evidence=tuple(
            Evidence(str(e["kind"]), str(e.get("label_zh", e["kind"])), str(e.get("label_en", e["kind"])), bool(e.get("unique")))
            for e in raw.get("evidence", [])
        ),
    )
    _check_shape(p, where)
    return p


def _check_shape(p: Programme, where: str) -> None:
    """Each kind needs its own numbers; a programme without a ceiling would pay without limit."""
    caps = (p.cap_per_year_fen, p.cap_one_off_fen, p.cap_per_project_fen)
    if p.kind == "rate" and (p.rate is None or all(c is None for c in caps)):
        raise PolicyError(where, "a rate programme needs a rate and at least one cap")
    if p.kind == "award" and all(c is None for c in caps):
        raise PolicyError(where, "an award programme needs a cap")
    if p.kind == "fixed" and p.fixed_fen is None:
        raise PolicyError(where, "a fixed programme needs fixed_yuan")
    if p.kind == "tiers" and (not p.tiers or list(p.tiers) != sorted(p.tiers, key=lambda t: t.min_months)):
        raise PolicyError(where, "tiers must be given in ascending min_months")
    if p.kind == "area_relief" and (not p.classes or p.area_cap_m2 is None or p.max_months is None):
        raise PolicyError(where, "an area relief needs classes, area_cap_m2 and max_months")
    if p.kind == "free_period" and (not p.periods or p.unit not in ("day", "month")):
        raise PolicyError(where, "a free period needs periods and a unit (day or month)")


def parse_policy(raw: Mapping[str, Any], *, required_codes: tuple[str, ...] | None = None) -> Policy:
    """A policy from its document (the TOML file, or the JSON an admin publishes)."""
    for key in ("policy_set", "city", "version", "effective_from", "valid_from", "valid_until", "title_zh", "title_en"):
        if key not in raw:
            raise PolicyError(key, "is required")
    dates = {}
    for key in ("effective_from", "valid_from", "valid_until"):
        value = raw[key]
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                raise PolicyError(key, "must be a date YYYY-MM-DD") from None
        if not isinstance(value, date):
            raise PolicyError(key, "must be a date YYYY-MM-DD")
        dates[key] = value
    programmes: dict[str, Programme] = {}
    for i, item in enumerate(raw.get("programmes", [])):
        p = _programme(item, f"programmes[{i}]")
        if p.code in programmes:
            raise PolicyError(f"programmes[{i}].code", f"{p.code!r} appears twice")
        programmes[p.code] = p
    missing = [c for c in required_codes or () if c not in programmes]
    if missing:
        raise PolicyError("programmes", f"missing programmes {', '.join(missing)}")
    if dates["valid_from"] > dates["valid_until"]:
        raise PolicyError("valid_until", "is before valid_from")
    return Policy(
        policy_set=str(raw["policy_set"]),
        city=str(raw["city"]),
        version=str(raw["version"]),
        title_zh=str(raw["title_zh"]),
        title_en=str(raw["title_en"]),
        parameters=dict(raw.get("parameters", {})),
        programmes=programmes,
        **dates,
    )


def to_document(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-storable form of a policy document (dates as ISO strings)."""

    def plain(v: Any) -> Any:
        if isinstance(v, date):
            return v.isoformat()
        if isinstance(v, Mapping):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, list):
            return [plain(x) for x in v]
        return v

    return plain(raw)


POLICY_DIR = Path(__file__).resolve().parent.parent / "policies"


def bundled_documents() -> list[dict[str, Any]]:
    """The policy files shipped in the repo, as documents (loaded into the database at start)."""
    return [to_document(tomllib.loads(path.read_text(encoding="utf-8"))) for path in sorted(POLICY_DIR.glob("*.toml"))]


def in_force(policies: list[Policy], policy_set: str, day: date) -> Policy | None:
    """The version of ``policy_set`` in force on ``day``: the latest effective on or before it, among
    those whose validity window covers the day (a 2026–2027 plan grants nothing for 2028)."""
    candidates = [p for p in policies if p.policy_set == policy_set and p.effective_from <= day and p.covers(day)]
    return max(candidates, key=lambda p: (p.effective_from, p.version), default=None)


def in_force_in_city(policies: list[Policy], city: str, day: date) -> Policy | None:
    """The version in force on ``day`` among every policy set of ``city`` (a city runs one plan at a time)."""
    candidates = [p for p in policies if p.city == city and p.effective_from <= day and p.covers(day)]
    return max(candidates, key=lambda p: (p.effective_from, p.version), default=None)
