"""The queue's JSON, byte for byte: its rows are rendered without going through the summary model again,
so the page is pinned here against the summary model's own rendering (field order, compact separators,
text as is, times as RFC 3339 UTC ``Z`` with microseconds only when there are any, ids, SLA risk)."""

from __future__ import annotations

import json
from datetime import timedelta

from opc_shared.pagination import PageOut
from registry.api.schemas import CaseSummary


def _summary(case: dict, sla_risk: str | None) -> dict:
    clock = case["licence_clock"]
    return {
        "id": case["id"],
        "district": case["district"],
        "status": case["status"],
        "owner": case["owner"],
        "community_id": case["form"].get("community_id"),
        "proposed_name": case["form"].get("proposed_name"),
        "sandbox": case["sandbox"],
        "submitted_at": case["submitted_at"],
        "accepted_at": case["accepted_at"],
        "licence_due_at": clock["due_at"] if clock else None,
        "sla_risk": sla_risk,
        "version": case["version"],
    }


def _pinned(items: list[dict], next_cursor: str | None) -> bytes:
    page = {"items": items, "next_cursor": next_cursor}
    by_model = PageOut[CaseSummary].model_validate(page).model_dump_json().encode()
    by_hand = json.dumps(page, ensure_ascii=False, separators=(",", ":")).encode()
    assert by_model == by_hand
    return by_hand


async def test_a_page_of_the_queue_is_the_summary_models_json(portal) -> None:
    accepted, _ = await portal.submitted_case()
    portal.clock.advance(timedelta(seconds=1, microseconds=250))  # a time with microseconds
    accepted = await portal.act(accepted, "accept")
    accepted = await portal.act(accepted, "assign", {"owner": "cw-2"})
    portal.clock.advance(timedelta(minutes=5))
    submitted, _ = await portal.submitted_case()
    portal.clock.advance(timedelta(minutes=5))
    form = {"proposed_name": '成都"引号"/斜杠科技有限公司'}
    draft = await portal.ok(await portal.client.post("/v1/cases", json=form, headers=portal.founder("f-1")), 201)
    portal.clock.advance(timedelta(days=3, hours=6))  # Thu 1 Oct, a holiday: the accepted case is at risk

    first = await portal.client.get("/v1/cases", params={"limit": 2}, headers=portal.caseworker)
    assert first.status_code == 200 and first.headers["content-type"] == "application/json"
    cursor = first.json()["next_cursor"]
    assert cursor is not None
    assert first.content == _pinned([_summary(draft, None), _summary(submitted, None)], cursor)
    second = await portal.client.get("/v1/cases", params={"limit": 2, "cursor": cursor}, headers=portal.caseworker)
    assert second.content == _pinned([_summary(accepted, "at_risk")], None)
    assert accepted["accepted_at"].endswith(".000250Z")
