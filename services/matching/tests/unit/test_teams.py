import itertools
import random
import uuid

import pytest

from matching.domain.teams import LEAD_BONUS, MEMBER_COST, TeamCandidate, form, options


def c(caps: str, score: float, price_yuan: int, lead: bool = False) -> TeamCandidate:
    return TeamCandidate(uuid.uuid4(), frozenset(caps.split(",")), score, price_yuan * 100, lead)


REQUIRED = ["script_writing", "voice", "video_editing", "marketing"]


def test_known_best_team_with_a_lead_and_reasons() -> None:
    pm = c("project_management,marketing", 0.8, 30000, lead=True)
    writer = c("script_writing,voice", 0.9, 20000)
    editor = c("video_editing", 0.85, 10000)
    allround = c("script_writing,voice,video_editing", 0.6, 25000)
    cheap_bad = c("video_editing", 0.3, 3000)
    team = form([pm, writer, editor, allround, cheap_bad], REQUIRED, budget_fen=8_000_000)
    assert team is not None and team.optimal
    assert {m.firm_id for m in team.members} == {pm.firm_id, writer.firm_id, editor.firm_id}
    lead = team.members[0]
    assert lead.lead and lead.firm_id == pm.firm_id and lead.covers == ("marketing",)
    assert lead.reason["zh-CN"].startswith("担任牵头方（项目统筹）；负责营销推广")
    assert next(m for m in team.members if m.firm_id == writer.firm_id).reason["zh-CN"].startswith("负责剧本、配音")
    # 0.8·¼ + 0.9·½ + 0.85·¼ − 3 members + lead bonus
    assert team.objective == pytest.approx(0.8 * 0.25 + 0.9 * 0.5 + 0.85 * 0.25 - 3 * MEMBER_COST + 0.05, abs=1e-3)
    assert team.price_fen == 6_000_000


def test_budget_forces_the_cheaper_all_rounder() -> None:
    pm = c("project_management,marketing", 0.8, 30000, lead=True)
    writer = c("script_writing,voice", 0.9, 20000)
    editor = c("video_editing", 0.85, 10000)
    allround = c("script_writing,voice,video_editing", 0.6, 15000)
    team = form([pm, writer, editor, allround], REQUIRED, budget_fen=4_500_000)
    assert team is not None and {m.firm_id for m in team.members} == {pm.firm_id, allround.firm_id}
    assert form([pm, writer, editor, allround], REQUIRED, budget_fen=4_000_000) is None


def test_no_lead_no_team_and_at_most_five() -> None:
    solo = [c(code, 0.9, 1000) for code in ["a", "b", "c", "d", "e", "f"]]
    assert form(solo, ["a", "b"], budget_fen=None) is None
    solo[0] = c("a", 0.9, 1000, lead=True)
    assert form(solo, ["a", "b", "c", "d", "e", "f"], budget_fen=None) is None  # six capabilities, one each
    team = form(solo, ["a", "b", "c", "d", "e"], budget_fen=None)
    assert team is not None and len(team.members) == 5


def test_only_frontier_candidates_are_offered_to_the_solver() -> None:
    strong = c("a,b", 0.9, 1000)
    weak = c("a", 0.5, 2000)  # strong delivers "a" better and cheaper
    cheap = c("a", 0.5, 500)  # cheaper than every rival: stays
    leader = c("a", 0.4, 5000, lead=True)  # the only lead: stays for the lead role
    table = options([strong, weak, cheap, leader], ["a", "b"])
    assert table[frozenset({"a"}), False] == [0, 2]
    assert table[frozenset({"a"}), True] == [3] and table[frozenset(), True] == [3]
    assert table[frozenset({"a", "b"}), False] == [0]


def brute_force(cands: list[TeamCandidate], required: list[str], budget: int, max_size: int = 5) -> float | None:
    """Every team of up to max_size firms, every lead, every way to hand out the capabilities."""
    best = None
    for size in range(1, max_size + 1):
        for team in itertools.combinations(range(len(cands)), size):
            if sum(cands[i].price_min_fen for i in team) > budget:
                continue
            if not all(any(code in cands[i].capabilities for i in team) for code in required):
                continue
            for lead in (i for i in team if cands[i].can_lead):
                # each capability to its best member; a member delivering nothing must be the lead
                doers = {
                    code: max((i for i in team if code in cands[i].capabilities), key=lambda i: cands[i].score)
                    for code in required
                }
                if any(i != lead and i not in doers.values() for i in team):
                    continue
                value = sum(cands[doers[code]].score for code in required) / len(required) - MEMBER_COST * size + LEAD_BONUS
                best = value if best is None else max(best, value)
    return best


def test_optimal_against_exhaustive_search_on_random_small_instances() -> None:
    rng = random.Random(42)
    codes = ["a", "b", "c", "d", "e"]
    for _ in range(25):
        cands = [
            TeamCandidate(
                uuid.uuid4(),
                frozenset(rng.sample(codes, rng.randint(1, 3))),
                round(rng.random(), 3),
                rng.randint(1, 9) * 1000,
                rng.random() < 0.3,
            )
            for _ in range(9)
        ]
        required = rng.sample(codes, rng.randint(2, 5))
        budget = rng.randint(5, 30) * 1000
        expected = brute_force(cands, required, budget)
        team = form(cands, required, budget_fen=budget)
        cp_sat = form(cands, required, budget_fen=budget, node_limit=0)  # the CP-SAT path alone
        if expected is None:
            assert team is None and cp_sat is None
            continue
        assert team is not None and team.optimal and cp_sat is not None and cp_sat.optimal
        assert team.objective == pytest.approx(expected, abs=5e-4) and cp_sat.objective == pytest.approx(expected, abs=5e-4)
        assert team.price_fen <= budget and sum(m.lead for m in team.members) == 1
        assert {code for m in team.members for code in m.covers} == set(required)
