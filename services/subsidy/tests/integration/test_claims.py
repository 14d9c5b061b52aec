"""Claims on application: deficiency notice, evidence never used twice, four eyes, budgets."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, date, datetime

from sqlalchemy import func, select

from opc_devstack.pytest_plugin import bearer
from opc_shared.contracts.registry import CalendarYearLoadedV1
from subsidy.adapters.tables import budgets, claims

SUM = hashlib.sha256(b"doc").hexdigest()


def ev(kind: str, number: str | None = None) -> dict:
    return {"kind": kind, "number": number or uuid.uuid4().hex[:16], "document_ref": f"oss://docs/{kind}.pdf", "checksum": SUM}


async def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, f"{response.request.url}: {response.status_code} {response.text}"
    return response.json()


async def budget(client, programme: str, total_fen: int, scope: str | None = None) -> dict:
    body = {"programme": programme, "year": 2026, "scope": scope or client.district, "total_fen": total_fen}
    return await ok(await client.post("/v1/budgets", json=body, headers=bearer("*", ("admin",))), 201)


async def craftsman_claim(client, person: str, cert: str | None = None, sub: str = "cw-1") -> dict:
    body = {
        "programme": "craftsman",
        "year": 2026,
        "recipient_kind": "person",
        "recipient_id": person,
        "recipient_code": "11010519491231002X",
        "bank_account": "6222020200112233",
        "evidence": [ev("certificate", cert)],
    }
    return await ok(await client.post("/v1/claims", json=body, headers=bearer(client.district, ("caseworker",), sub=sub)), 201)


async def act(client, claim: dict, path: str, sub: str, body: dict | None = None, status: int = 200) -> dict:
    headers = {**bearer(client.district, ("reviewer",), sub=sub), "If-Match": f'"{claim["version"]}"'}
    return await ok(await client.post(f"/v1/claims/{claim['id']}/{path}", json=body or {}, headers=headers), status)


async def test_the_deficiency_notice_lists_everything_at_once_then_one_answer(subsidy) -> None:
    """Loan interest for a firm, applied with nothing: both documents and the base are missing, at once.
    With them: 123,456.78 yuan interest × 30 % = 37,037.034 → 37,037.03 yuan."""
    await subsidy.feed.send(
        CalendarYearLoadedV1(
            year=2026,
            holidays=[date(2026, 10, 1), date(2026, 10, 2)],
            adjusted_working_days=[],
            loaded_at=datetime(2025, 11, 1, tzinfo=UTC),
        )
    )
    firm = await subsidy.feed.firm(subsidy.district)
    founder = bearer(subsidy.district, ("firm",), firm_id=str(firm), sub="founder-x")
    claim = await ok(await subsidy.post("/v1/claims", json={"programme": "loan_interest", "year": 2026}, headers=founder), 201)
    assert claim["status"] == "incomplete" and claim["firm_id"] == str(firm)
    assert {m["field"] for m in claim["missing"]} == {"evidence.contract", "evidence.bank_receipt", "facts.base_fen"}
    assert any("借款合同" in m["zh-CN"] for m in claim["missing"])
    answered = await ok(
        await subsidy.post(
            f"/v1/claims/{claim['id']}/supplement",
            json={"facts": {"base_fen": 12_345_678}, "evidence": [ev("contract"), ev("bank_receipt")]},
            headers={**founder, "If-Match": '"1"'},
        )
    )
    assert answered["status"] == "submitted" and answered["missing"] == [] and answered["computed_fen"] == 3_703_703
    assert answered["review_due_on"] == "2026-11-30"  # 20 working days after Mon 2026-11-02
    assert "第（十一）条" in answered["explanation"]["zh-CN"] and "37,037.034" in answered["explanation"]["zh-CN"]
    stale = await subsidy.post(f"/v1/claims/{claim['id']}/supplement", json={}, headers={**founder, "If-Match": '"1"'})
    assert stale.status_code == 412


async def test_the_same_certificate_never_backs_two_claims(subsidy) -> None:
    cert = f"CERT-{uuid.uuid4().hex[:8]}"
    first = await craftsman_claim(subsidy, "person-1", cert)
    assert first["status"] == "submitted" and first["computed_fen"] == 2_000_000
    body = {
        "programme": "competition_award",
        "year": 2027,
        "recipient_kind": "person",
        "recipient_id": "person-2",
        "requested_fen": 100,
        "evidence": [ev("certificate", cert)],
    }
    second = await subsidy.post("/v1/claims", json=body, headers=bearer(subsidy.district, ("caseworker",)))
    assert second.status_code == 409 and second.json()["code"] == "evidence_already_used" and cert in second.json()["detail"]
    async with subsidy.app.state.db.uow() as uow:
        n = (await uow.session.execute(select(func.count()).where(claims.c.recipient_id == "person-2"))).scalar_one()
    assert n == 0  # nothing half-written


async def test_four_eyes_audit_trail_and_the_decided_event(subsidy) -> None:
    await budget(subsidy, "craftsman", 10_000_000)
    claim = await craftsman_claim(subsidy, "person-3", sub="cw-9")
    refused = await subsidy.post(
        f"/v1/claims/{claim['id']}/review", headers={**bearer(subsidy.district, ("reviewer",), sub="cw-9"), "If-Match": '"1"'}
    )
    assert refused.status_code == 403 and refused.json()["code"] == "four_eyes"
    reviewed = await act(subsidy, claim, "review", "rv-1")
    same = await subsidy.post(
        f"/v1/claims/{claim['id']}/decision",
        json={"decision": "approved"},
        headers={**bearer(subsidy.district, ("reviewer",), sub="rv-1"), "If-Match": f'"{reviewed["version"]}"'},
    )
    assert same.status_code == 403 and same.json()["code"] == "four_eyes"
    partly = await subsidy.post(
        f"/v1/claims/{claim['id']}/decision",
        json={"decision": "partly_approved", "approved_fen": 100},
        headers={**bearer(subsidy.district, ("reviewer",), sub="rv-2"), "If-Match": f'"{reviewed["version"]}"'},
    )
    assert partly.status_code == 422 and partly.json()["code"] == "decision_invalid"
    decided = await act(subsidy, reviewed, "decision", "rv-2", {"decision": "approved"})
    assert decided["status"] == "approved" and decided["approved_fen"] == 2_000_000 and decided["approver"] == "rv-2"
    trail = (await ok(await subsidy.get(f"/v1/claims/{claim['id']}/audit", headers=bearer(subsidy.district, ("reviewer",)))))[
        "items"
    ]
    assert [t["action"] for t in trail] == ["applied", "review_started", "decided"]
    outbox = subsidy.app.state.db.platform.outbox
    async with subsidy.app.state.db.uow() as uow:
        payloads = (await uow.session.execute(select(outbox.c.payload).where(outbox.c.key == "person-3"))).scalars().all()
    assert [p["data"]["approved_fen"] for p in payloads if p["type"] == "opc.subsidy.claim.decided.v1"] == [2_000_000]
    figures = (await ok(await subsidy.get("/v1/budgets", params={"year": 2026}, headers=bearer(subsidy.district, ("finance",)))))[
        "items"
    ]
    mine = next(b for b in figures if b["programme"] == "craftsman" and b["scope"] == subsidy.district)
    assert mine["reserved_fen"] == 2_000_000 and mine["left_fen"] == 8_000_000
    other = await subsidy.get(f"/v1/claims/{claim['id']}", headers=bearer("elsewhere", ("reviewer",)))
    assert other.status_code == 404


async def test_200_concurrent_approvals_never_over_commit(subsidy) -> None:
    """Budget 3,000,000 yuan, 200 craftsman awards of 20,000 yuan each: exactly 150 fit."""
    b = await budget(subsidy, "craftsman", 300_000_000)
    reviewed = []
    for _ in range(200):
        claim = await craftsman_claim(subsidy, f"p-{uuid.uuid4().hex[:10]}", sub="cw-2")
        reviewed.append(await act(subsidy, claim, "review", "rv-1"))

    async def decide(claim: dict):
        headers = {**bearer(subsidy.district, ("reviewer",), sub="rv-2"), "If-Match": f'"{claim["version"]}"'}
        return await subsidy.post(f"/v1/claims/{claim['id']}/decision", json={"decision": "approved"}, headers=headers)

    answers = await asyncio.gather(*(decide(c) for c in reviewed))
    codes = [a.status_code for a in answers]
    assert codes.count(200) == 150 and codes.count(409) == 50, sorted(set(codes))
    assert all(a.json()["code"] == "budget_exhausted" for a in answers if a.status_code == 409)
    async with subsidy.app.state.db.uow() as uow:
        row = (await uow.session.execute(select(budgets).where(budgets.c.id == uuid.UUID(b["id"])))).mappings().one()
        approved = (
            await uow.session.execute(
                select(func.coalesce(func.sum(claims.c.approved_fen), 0)).where(claims.c.budget_id == row["id"])
            )
        ).scalar_one()
    assert row["reserved_fen"] == 300_000_000 == approved


async def test_the_review_sla_warns_a_working_day_before_and_breaches_after_once(subsidy) -> None:
    """Filed Mon 2026-11-02, due 20 working days later: Mon 2026-11-30. On Fri 11-27 the next working
    day is the due date → warning. On Tue 12-01 → breach. A second round fires nothing more."""
    from opc_shared.clock import FixedClock
    from subsidy.scheduler import review_sla_once

    await subsidy.feed.send(
        CalendarYearLoadedV1(
            year=2026, holidays=[date(2026, 10, 1)], adjusted_working_days=[], loaded_at=datetime(2025, 11, 2, tzinfo=UTC)
        )
    )
    claim = await craftsman_claim(subsidy, f"p-{uuid.uuid4().hex[:8]}")
    assert claim["review_due_on"] == "2026-11-30"
    reviewed = await act(subsidy, claim, "review", "rv-7")
    db = subsidy.app.state.db
    outbox = db.platform.outbox

    async def fired() -> list[tuple[str, str | None]]:
        async with db.uow() as uow:
            rows = (await uow.session.execute(select(outbox.c.payload).where(outbox.c.key == claim["recipient_id"]))).scalars()
            return [(p["type"].split(".")[3], p["data"].get("owner")) for p in rows if "review_sla" in p["type"]]

    await review_sla_once(db, FixedClock(datetime(2026, 11, 26, 2, tzinfo=UTC)))
    assert await fired() == []
    await review_sla_once(db, FixedClock(datetime(2026, 11, 27, 2, tzinfo=UTC)))
    assert await fired() == [("review_sla_warning", "rv-7")]
    await review_sla_once(db, FixedClock(datetime(2026, 12, 1, 2, tzinfo=UTC)))
    await review_sla_once(db, FixedClock(datetime(2026, 12, 2, 2, tzinfo=UTC)))
    assert sorted(await fired()) == [("review_sla_breached", "rv-7"), ("review_sla_warning", "rv-7")]
    overdue = await ok(
        await subsidy.get("/v1/claims", params={"status": "overdue"}, headers=bearer(subsidy.district, ("reviewer",)))
    )
    assert reviewed["id"] in {c["id"] for c in overdue["items"]} or overdue["items"] == []  # "overdue" is judged on the app clock


async def test_the_same_invoice_offered_to_two_claims_is_refused_the_second_time(subsidy) -> None:
    firm = await subsidy.feed.firm(subsidy.district)
    founder = bearer(subsidy.district, ("firm",), firm_id=str(firm), sub="founder-inv")
    number = f"{uuid.uuid4().int % 10**20:020d}"
    first = {
        "programme": "loan_interest",
        "year": 2026,
        "facts": {"base_fen": 100_000},
        "evidence": [ev("contract"), ev("bank_receipt"), ev("invoice", number)],
    }
    await ok(await subsidy.post("/v1/claims", json=first, headers=founder), 201)
    second = {
        "programme": "hit_product",
        "year": 2027,
        "facts": {"base_fen": 100_000},
        "evidence": [ev("revenue_statement"), ev("invoice", number)],
    }
    refused = await subsidy.post("/v1/claims", json=second, headers=founder)
    assert refused.status_code == 409 and refused.json()["code"] == "evidence_already_used" and number in refused.text
