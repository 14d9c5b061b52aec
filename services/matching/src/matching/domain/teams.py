"""Team formation: a lead "project manager" firm and up to four partners covering every capability.

Exact, with CP-SAT, as a set partition: each member *delivers* a block of the required
capabilities, the blocks partition them, at most ``max_size`` members, one of them the lead
(a pure "project manager" may lead delivering nothing), the sum of starting prices within
the budget. Maximise ``Σ score_i · weight(block_i) − member_cost · members + lead_bonus``:
a member earns only through what it delivers, so a team is never padded with firms that add
nothing but their cost.

Why only a few candidates per block reach the solver, exactly: if a member is *dominated*
for its block (another candidate able to deliver the block scores at least as much, costs no
more, and can lead if it leads), swapping it for the dominating one never lowers the
objective; if the dominating one is already in the team, it takes the block over and the
team is one member smaller, which is better still. Ties are broken by position, so the
order is strict and the swaps end. So some optimal team uses only candidates on each
block's Pareto frontier (score up, price down). The model allows the same firm on two
blocks, but such a team is never optimal (merging the blocks saves a member's cost and its
price), so the optimum it finds has distinct members.

Then a bound: a short first solve over each block's best option gives a feasible team of
value LB; an option whose gain plus the most the rest of the capabilities could still add (best
score per capability, at least ceil(rest / largest block) more members) is below LB cannot
be in an optimal team, and is dropped before the exact solve.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
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
    considered: int  # (block, candidate) options the solver chose among


def _frontier(indices: Sequence[int], candidates: Sequence[TeamCandidate]) -> list[int]:
    """Candidates no other one beats on score and price at once (ties: earlier position wins)."""
    ordered = sorted(indices, key=lambda i: (-candidates[i].score, candidates[i].price_min_fen, i))
    out, cheapest = [], None
    for i in ordered:
        price = candidates[i].price_min_fen
        if cheapest is None or price < cheapest:
            out.append(i)
            cheapest = price
    return out


def options(candidates: Sequence[TeamCandidate], required: Sequence[str]) -> dict[tuple[frozenset[str], bool], list[int]]:
    """For each block and role (lead or not), the candidates on its frontier."""
    need = frozenset(required)
    by_mask: dict[frozenset[str], list[int]] = {}
    for i, c in enumerate(candidates):
        mask = c.capabilities & need
        if mask or c.can_lead:
            by_mask.setdefault(mask, []).append(i)
    own = {
        (m, lead): _frontier([i for i in ids if candidates[i].can_lead or not lead], candidates)
        for m, ids in by_mask.items()
        for lead in (False, True)
    }
    blocks: set[frozenset[str]] = set()
    for mask in by_mask:
        for size in range(0, len(mask) + 1):
            blocks.update(frozenset(b) for b in combinations(sorted(mask), size))
    out = {}
    for block in blocks:
        for lead in (False, True):
            if not block and not lead:
                continue  # a member delivering nothing is only ever the lead
            pool = [i for mask, _ in by_mask.items() if mask >= block for i in own[mask, lead]]
            front = _frontier(pool, candidates)
            if front:
                out[block, lead] = front
    return out


def _solve(
    choices: list[tuple[frozenset[str], bool, int]],
    candidates: Sequence[TeamCandidate],
    weights: dict[str, int],
    *,
    budget_fen: int | None,
    max_size: int,
    time_limit_s: float,
    workers: int,
) -> tuple[list[tuple[frozenset[str], bool, int]], float, bool] | None:
    total = sum(weights.values())
    model = cp_model.CpModel()
    z = [model.new_bool_var(f"z{k}") for k in range(len(choices))]
    for code in weights:
        covering = [z[k] for k, (block, _, _) in enumerate(choices) if code in block]
        if not covering:
            return None
        model.add_exactly_one(covering)
    leads = [z[k] for k, (_, lead, _) in enumerate(choices) if lead]
    if not leads:
        return None
    model.add_exactly_one(leads)
    model.add(sum(z) <= max_size)
    if budget_fen is not None:
        model.add(sum(candidates[i].price_min_fen * z[k] for k, (_, _, i) in enumerate(choices)) <= budget_fen)
    gain = [_gain(candidates[i], block, lead, weights, total) for block, lead, i in choices]
    model.maximize(sum(g * var for g, var in zip(gain, z, strict=True)))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = workers
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    chosen = [choices[k] for k in range(len(choices)) if solver.value(z[k])]
    return chosen, solver.objective_value / SCALE, status == cp_model.OPTIMAL


def _gain(c: TeamCandidate, block: frozenset[str], lead: bool, weights: dict[str, int], total: int) -> int:
    """An option's contribution to the objective, in solver units (rounded half-even to 1/SCALE)."""
    return round((c.score * sum(weights[code] for code in block) / total - MEMBER_COST + (LEAD_BONUS if lead else 0)) * SCALE)


def _search(
    choices: list[tuple[frozenset[str], bool, int]],
    candidates: Sequence[TeamCandidate],
    weights: dict[str, int],
    *,
    budget_fen: int | None,
    max_size: int,
    node_limit: int,
) -> tuple[list[tuple[frozenset[str], bool, int]] | None, int, bool]:
    """Depth-first branch and bound over the partition: (best team, its value, finished).

    Branches on the options delivering the first capability not yet covered, best gain first.
    The bound of a branch is exact arithmetic in solver units: what it has, plus the best
    partition of the capabilities still open into blocks each worth its best option (budget,
    distinct firms and team size relaxed; computed once per call by a DP over the subsets),
    plus the lead bonus if no lead is in yet. ``finished`` is False when it stopped at
    ``node_limit`` (the team is then only a floor for the solver)."""
    codes = list(weights)
    total = sum(weights.values())
    bit = {code: 1 << n for n, code in enumerate(codes)}
    full = (1 << len(codes)) - 1
    opts = []  # (mask, lead, firm index, gain, price)
    for block, lead, i in choices:
        mask = sum(bit[c] for c in block)
        opts.append((mask, lead, i, _gain(candidates[i], block, lead, weights, total), candidates[i].price_min_fen))
    by_low: dict[int, list[int]] = {n: [] for n in range(len(codes))}
    best_block: dict[int, int] = {}
    for k, (mask, lead, _, g, _) in enumerate(opts):
        if mask:
            by_low[(mask & -mask).bit_length() - 1].append(k)
            plain = g - (round(LEAD_BONUS * SCALE) if lead else 0)
            if plain > best_block.get(mask, -(10**18)):
                best_block[mask] = plain
    for ks in by_low.values():
        ks.sort(key=lambda k: -opts[k][3])
    blocks_by_low: dict[int, list[tuple[int, int]]] = {}
    for mask, g in best_block.items():
        blocks_by_low.setdefault((mask & -mask).bit_length() - 1, []).append((mask, g))
    none = -(10**18)
    relax = [none] * (full + 1)  # best value of partitioning a set of open capabilities
    relax[0] = 0
    for open_ in range(1, full + 1):
        low = (open_ & -open_).bit_length() - 1
        best = none
        for mask, g in blocks_by_low.get(low, ()):
            if mask & open_ == mask and relax[open_ ^ mask] != none:
                best = max(best, g + relax[open_ ^ mask])
        relax[open_] = best
    pure_leads = sorted((k for k, o in enumerate(opts) if o[1] and not o[0]), key=lambda k: -opts[k][3])
    bonus = round(LEAD_BONUS * SCALE)
    budget = budget_fen if budget_fen is not None else float("inf")
    state: dict[str, object] = {"best": None, "value": None, "nodes": 0}

    def finish(picked: list[int], value: int, price: int, led: bool) -> None:
        if not led:
            if len(picked) >= max_size:
                return
            used = {opts[k][2] for k in picked}
            lead_k = next((k for k in pure_leads if opts[k][2] not in used and price + opts[k][4] <= budget), None)
            if lead_k is None:
                return
            picked, value = [*picked, lead_k], value + opts[lead_k][3]
        if state["value"] is None or value > state["value"]:
            state["best"], state["value"] = [choices[k] for k in picked], value

    def dfs(covered: int, picked: list[int], value: int, price: int, led: bool) -> bool:
        state["nodes"] += 1
        if state["nodes"] > node_limit:
            return False
        open_ = full ^ covered
        if not open_:
            finish(picked, value, price, led)
            return True
        if len(picked) >= max_size or relax[open_] == none:
            return True
        if state["value"] is not None and value + relax[open_] + (0 if led else bonus) <= state["value"]:
            return True
        used = {opts[k][2] for k in picked}
        for k in by_low[(open_ & -open_).bit_length() - 1]:
            mask, lead, i, g, p = opts[k]
            if mask & covered or (lead and led) or i in used or price + p > budget:
                continue
            if state["value"] is not None and value + g + relax[open_ ^ mask] + (0 if led or lead else bonus) <= state["value"]:
                continue
            if not dfs(covered | mask, [*picked, k], value + g, price + p, led or lead):
                return False
        return True

    finished = dfs(0, [], 0, 0, False)
    value = state["value"]
    return state["best"], value if isinstance(value, int) else 0, finished  # type: ignore[return-value]


def form(
    candidates: Sequence[TeamCandidate],
    required: Sequence[str] | Mapping[str, int],
    *,
    budget_fen: int | None,
    max_size: int = 5,
    time_limit_s: float = 10.0,
    workers: int = 1,
    node_limit: int = 200_000,
) -> Team | None:
    """The best team, or None when no team of ``max_size`` within the budget covers everything.

    The branch and bound usually finishes (then its answer is proven optimal); if it hits
    ``node_limit``, its best team becomes the floor that prunes options, and CP-SAT solves the
    rest exactly."""
    weights = dict(required) if isinstance(required, Mapping) else {code: 1 for code in required}
    total = sum(weights.values())
    codes = list(weights)
    table = options(candidates, codes)
    choices = [(block, lead, i) for (block, lead), ids in table.items() for i in ids]
    found, value, finished = _search(
        choices, candidates, weights, budget_fen=budget_fen, max_size=max_size, node_limit=node_limit
    )
    if finished:
        if found is None:
            return None
        chosen, objective, optimal = found, value / SCALE, True
    else:
        if found is not None:
            best = {
                code: max(
                    (round(candidates[i].score * weights[code] / total * SCALE) for b, _, i in choices if code in b), default=0
                )
                for code in codes
            }
            widest = max((len(b) for b, _, _ in choices), default=1) or 1
            kept = []
            for block, lead, i in choices:
                rest = [code for code in codes if code not in block]
                bound = _gain(candidates[i], block, lead, weights, total) + sum(best[c] for c in rest)
                bound -= round(MEMBER_COST * SCALE) * -(-len(rest) // widest)
                bound += 0 if lead else round(LEAD_BONUS * SCALE)
                if bound + len(codes) + 2 >= value:  # slack for the per-term rounding
                    kept.append((block, lead, i))
            choices = kept
        solved = _solve(
            choices, candidates, weights, budget_fen=budget_fen, max_size=max_size, time_limit_s=time_limit_s, workers=workers
        )
        if solved is None:
            return None
        chosen, objective, optimal = solved
    if len({i for _, _, i in chosen}) != len(chosen):  # cannot happen at the optimum (see module docstring)
        raise AssertionError("a firm was chosen for two blocks")
    members = []
    for block, lead, i in sorted(chosen, key=lambda ch: (not ch[1], -candidates[ch[2]].score, ch[2])):
        c = candidates[i]
        covers = tuple(code for code in codes if code in block)
        members.append(Member(c.firm_id, lead, covers, c.score, _reason(c, lead, covers, codes)))
    return Team(
        members=tuple(members),
        objective=objective,
        price_fen=sum(candidates[i].price_min_fen for _, _, i in chosen),
        optimal=optimal,
        considered=len(choices),
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
