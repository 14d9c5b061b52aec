"""Team formation: a lead "project manager" firm and up to four partners covering every capability.

Exact, with CP-SAT: choose members ``x_i``, one lead ``l_i`` among them, and for every required
capability ``c`` the member ``y_ic`` who delivers it; at most ``max_size`` firms, the sum of
their starting prices within the budget; maximise ``Σ weight_c·score_i·y_ic − member_cost·Σ x_i
+ lead_bonus``. A member earns only through the capabilities it delivers, so a team is never
padded: a firm that adds nothing but its cost is left out (the lead may be a pure
"project manager" that delivers nothing itself).

Before the solver sees them, candidates that cannot be in any optimal team are dropped,
exactly: if at least ``max_size`` other candidates each cover a superset of a candidate's
required capabilities, score at least as much, cost no more and can lead whenever it can,
one of them is always free to replace it. Ties are broken by position, so the order is strict.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from ortools.sat.python import cp_model

from matching.domain.catalogue import BY_CODE

SCALE = 10_000
MEMBER_COST = 0.15
LEAD_BONUS = 0.05


@dataclass(frozen=True)
class TeamCandidate:
    firm_id: UUID
    capabilities: frozenset[str]
    score: float  # the ranking score for this demand, in [0, 1]
    price_min_fen: int
    can_lead: bool


@dataclass(frozen=True)
class Member:
    firm_id: UUID
    lead: bool
    covers: tuple[str, ...]
    score: float
    reason: dict[str, str]


@dataclass(frozen=True)
class Team:
    members: tuple[Member, ...]
    objective: float
    price_fen: int
    optimal: bool
    considered: int  # candidates left after the exact pruning


def prune(candidates: Sequence[TeamCandidate], required: Sequence[str], max_size: int) -> list[int]:
    """Indices of the candidates that may appear in an optimal team."""
    need = frozenset(required)
    masks = [frozenset(c.capabilities & need) for c in candidates]
    useful = [i for i, m in enumerate(masks) if m or candidates[i].can_lead]
    by_mask: dict[frozenset[str], list[int]] = {}
    for i in useful:
        by_mask.setdefault(masks[i], []).append(i)
    keep = []
    for mask, members in by_mask.items():
        rivals = [j for other, js in by_mask.items() if other >= mask for j in js]
        # Strict order: higher score first, then cheaper, then lead-capable, then position.
        rivals.sort(key=lambda j: (-candidates[j].score, candidates[j].price_min_fen, not candidates[j].can_lead, j))
        prices_all: list[int] = []
        prices_lead: list[int] = []
        own = set(members)
        for j in rivals:
            c = candidates[j]
            if j in own:
                # dominators: earlier in the order, price ≤ ours (and able to lead when we can)
                if c.can_lead:
                    dominators = bisect.bisect_right(prices_lead, c.price_min_fen)
                else:
                    dominators = bisect.bisect_right(prices_all, c.price_min_fen)
                if dominators < max_size:
                    keep.append(j)
            bisect.insort(prices_all, c.price_min_fen)
            if c.can_lead:
                bisect.insort(prices_lead, c.price_min_fen)
    return sorted(keep)


def form(
    candidates: Sequence[TeamCandidate],
    required: Sequence[str] | dict[str, int],
    *,
    budget_fen: int | None,
    max_size: int = 5,
    time_limit_s: float = 10.0,
    workers: int = 1,
) -> Team | None:
    """The best team, or None when no team of ``max_size`` within the budget covers everything."""
    weights = dict(required) if isinstance(required, dict) else {code: 1 for code in required}
    total = sum(weights.values())
    codes = list(weights)
    kept = prune(candidates, codes, max_size)
    model = cp_model.CpModel()
    x = {i: model.new_bool_var(f"x{i}") for i in kept}
    lead = {i: model.new_bool_var(f"l{i}") for i in kept if candidates[i].can_lead}
    if not lead:
        return None
    y: dict[tuple[int, str], cp_model.IntVar] = {}
    for code in codes:
        doers = [i for i in kept if code in candidates[i].capabilities]
        if not doers:
            return None
        for i in doers:
            y[i, code] = model.new_bool_var(f"y{i}_{code}")
            model.add_implication(y[i, code], x[i])
        model.add_exactly_one(y[i, code] for i in doers)
    for i in kept:  # a member that delivers nothing and does not lead is never worth its cost
        model.add_bool_or([*(y[i, c] for c in codes if (i, c) in y), *([lead[i]] if i in lead else []), x[i].Not()])
    model.add(sum(x.values()) <= max_size)
    model.add_exactly_one(lead.values())
    for i, var in lead.items():
        model.add_implication(var, x[i])
    if budget_fen is not None:
        model.add(sum(candidates[i].price_min_fen * x[i] for i in kept) <= budget_fen)
    gain = {key: round(weights[key[1]] / total * candidates[key[0]].score * SCALE) for key in y}
    model.maximize(
        sum(gain[key] * var for key, var in y.items()) - round(MEMBER_COST * SCALE) * sum(x.values()) + round(LEAD_BONUS * SCALE)
    )
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = workers
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    chosen = [i for i in kept if solver.value(x[i])]
    lead_index = next(i for i in lead if solver.value(lead[i]))
    members = []
    for i in sorted(chosen, key=lambda i: (i != lead_index, -candidates[i].score, i)):
        c = candidates[i]
        mine = tuple(code for code in codes if (i, code) in y and solver.value(y[i, code]))
        members.append(Member(c.firm_id, i == lead_index, mine, c.score, _reason(c, i == lead_index, mine, codes)))
    return Team(
        members=tuple(members),
        objective=solver.objective_value / SCALE,
        price_fen=sum(candidates[i].price_min_fen for i in chosen),
        optimal=status == cp_model.OPTIMAL,
        considered=len(kept),
    )


def _reason(c: TeamCandidate, is_lead: bool, covers: tuple[str, ...], required: Sequence[str]) -> dict[str, str]:
    zh: list[str] = []
    en: list[str] = []
    if is_lead:
        zh.append("担任牵头方（项目统筹）")
        en.append("leads the team (project management)")
    if covers:
        zh.append("负责" + "、".join(_name(code, "zh") for code in covers))
        en.append("covers " + ", ".join(_name(code, "en") for code in covers))
    also = [code for code in required if code in c.capabilities and code not in covers]
    if also:
        zh.append("兼具" + "、".join(_name(code, "zh") for code in also))
        en.append("also able to do " + ", ".join(_name(code, "en") for code in also))
    zh.append(f"匹配得分 {c.score:.2f}，起步价 {c.price_min_fen / 100:,.0f} 元")
    en.append(f"match score {c.score:.2f}, starting price ¥{c.price_min_fen / 100:,.0f}")
    return {"zh-CN": "；".join(zh), "en": "; ".join(en)}


def _name(code: str, language: str) -> str:
    cap = BY_CODE.get(code)
    return code if cap is None else (cap.zh if language == "zh" else cap.en)
