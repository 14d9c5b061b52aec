"""Every event about a firm is keyed by that firm, from the case that registers it onwards, so
one firm's history is one ordered, numbered stream (DESIGN: "keyed by the firm it concerns")."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, select

from opc_shared.events import CloudEvent

from .conftest import Portal


async def test_a_case_and_its_firm_share_one_key_and_one_numbered_stream(portal: Portal) -> None:
    case, _ = await portal.submitted_case()
    case = await portal.act(case, "accept")
    assert case["firm_id"] is None, "the API shows the firm only once it exists"
    portal.clock.advance(timedelta(days=1))
    for step in ("name_check", "business_licence", "seal", "tax_registration", "bank_account"):
        case = await portal.act(case, f"steps/{step}/complete", {"reference": step})
    firm_id = case["firm_id"]
    assert firm_id
    status = await portal.ok(
        await portal.client.post(
            f"/v1/firms/{firm_id}/status",
            json={"status": "suspended", "effective_date": "2026-09-29", "reason": "test"},
            headers={**portal.caseworker, "If-Match": '"1"'},
        )
    )
    assert status["status"] == "suspended"

    db = portal.client.app.state.db
    outbox = db.platform.outbox
    async with db.sessionmaker() as session:
        rows = await session.execute(
            select(outbox.c.key, outbox.c.payload)
            .where(or_(outbox.c.payload["data"]["case_id"].astext == case["id"], outbox.c.key == firm_id))
            .order_by(outbox.c.id)
        )
        events = [(key, CloudEvent.model_validate(payload)) for key, payload in rows]
    types = [e.type for _, e in events]
    for expected in (
        "opc.registry.case.submitted.v1",
        "opc.registry.case.accepted.v1",
        "opc.registry.licence.issued.v1",
        "opc.registry.firm.registered.v1",
        "opc.registry.account.opened.v1",
        "opc.registry.firm.status_changed.v1",
    ):
        assert expected in types
    assert {key for key, _ in events} == {firm_id}
    assert {e.subject for _, e in events} == {firm_id}
    assert all(e.data["firm_id"] == firm_id for _, e in events)
    assert types.index("opc.registry.licence.issued.v1") < types.index("opc.registry.firm.registered.v1")
    assert [e.subjectseq for _, e in events] == list(range(1, len(events) + 1))
