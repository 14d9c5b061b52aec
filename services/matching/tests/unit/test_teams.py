import uuid

import pytest

from matching.domain.teams import MEMBER_COST, TeamCandidate, form, prune


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


def test_pruning_only_drops_candidates_with_enough_better_rivals() -> None:
    strong = [c("a,b", 0.9 - i * 0.01, 1000) for i in range(5)]
    weak = c("a", 0.5, 2000)
    cheap = c("a", 0.5, 500)  # cheaper than every rival: must stay
    leader = c("a", 0.4, 5000, lead=True)  # the only lead: must stay
    kept = prune([*strong, weak, cheap, leader], ["a", "b"], 5)
    assert kept == [0, 1, 2, 3, 4, 6, 7]
