"""The 3-day licence workflow through the REST API only, against the real database."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, or_, select

from opc_devstack.flows import supplied, token
from registry.adapters import tables as t

from .conftest import Portal, register_district


async def outbox_types(portal: Portal, about: str) -> list[str]:
    """Types of the events about a case (by its id in the payload) or a firm (the record key)."""
    db = portal.client.app.state.db
    outbox = db.platform.outbox
    async with db.sessionmaker() as session:
        rows = await session.execute(
            select(outbox.c.event_type)
            .where(or_(outbox.c.key == about, outbox.c.payload["data"]["case_id"].astext == about))
            .order_by(outbox.c.id)
        )
        return list(rows.scalars())


async def test_complete_journey_from_intake_to_account_opened(portal: Portal) -> None:
    community_id, ws = await portal.community()
    founder = portal.founder("founder-journey")
    form = portal.form(community_id, ws[0], ["agent_development"], documents=False)
    draft = await portal.ok(
        await portal.client.post("/v1/cases", json={k: v for k, v in form.items() if k != "proposed_name"}, headers=founder), 201
    )
    assert draft["status"] == "draft"
    progress = await portal.ok(
        await portal.client.get(f"/v1/cases/{draft['id']}/progress", headers={**founder, "Accept-Language": "en"})
    )
    assert "proposed_name" in progress["next_steps"][0]
    draft = await portal.ok(
        await portal.client.patch(
            f"/v1/cases/{draft['id']}",
            json={"proposed_name": "成都旅程智能科技有限公司"},
            headers={**founder, "If-Match": f'"{draft["version"]}"'},
        )
    )
    case = await portal.act(draft, "submit", who=founder)
    assert case["status"] == "awaiting_materials"
    assert {m["code"] for m in case["materials"] if m["status"] == "missing"} == {
        "founder_id_copy",
        "articles_of_association",
        "address_proof",
    }
    assert await outbox_types(portal, case["id"]) == ["opc.registry.case.submitted.v1", "opc.registry.materials.requested.v1"]
    zh = await portal.ok(await portal.client.get(f"/v1/cases/{case['id']}/progress", headers=founder))
    assert "公司章程" in zh["missing"]

    for code in ("founder_id_copy", "articles_of_association", "address_proof"):
        case = await portal.act(case, f"materials/{code}", supplied(code), who=founder)
    assert case["status"] == "ready"
    case = await portal.act(case, "accept")
    # Accepted Mon 28 Sep: Tue and Wed count, 1–7 Oct is the National Day break, Thu 8 Oct is the third day.
    assert case["licence_clock"]["due_at"] == "2026-10-08T16:00:00Z"
    portal.clock.advance(timedelta(days=1))
    case = await portal.act(case, "steps/name_check/complete", {"reference": "NC-1"})
    case = await portal.act(case, "steps/business_licence/complete", {"reference": "BL-1"})
    assert case["status"] == "licensed" and case["firm_id"]
    firm = await portal.ok(await portal.client.get(f"/v1/firms/{case['firm_id']}", headers=portal.caseworker))
    assert len(firm["uscc"]) == 18 and firm["status"] == "operating"
    for step in ("seal", "tax_registration", "bank_account", "social_insurance"):
        case = await portal.act(case, f"steps/{step}/complete", {"reference": step})
    assert case["status"] == "completed" and case["account_opened_at"]
    types = await outbox_types(portal, case["id"])
    assert (
        types[-2:] == ["opc.registry.case.accepted.v1", "opc.registry.licence.issued.v1"]
        or "opc.registry.licence.issued.v1" in types
    )
    assert "opc.registry.firm.registered.v1" in await outbox_types(portal, case["firm_id"])
    assert "opc.registry.account.opened.v1" in await outbox_types(portal, case["firm_id"])
    timeline = (await portal.ok(await portal.client.get(f"/v1/cases/{case['id']}/timeline", headers=founder)))["items"]
    actions = [e["action"] for e in timeline]
    assert actions[:3] == ["draft_saved", "draft_saved", "submitted"] and actions[-1] == "completed"
    assert any(e["reference"] == "BL-1" for e in timeline)
    workstations = (
        await portal.ok(await portal.client.get(f"/v1/communities/{community_id}/workstations", headers=portal.admin))
    )["items"]
    assert next(w for w in workstations if w["id"] == ws[0])["occupant_firm_id"] == case["firm_id"]


async def test_warehouse_building_with_ai_short_drama_needs_site_statement_then_radio_tv_permit(portal: Portal) -> None:
    await register_district(portal.client, portal.district, city="ningbo", division_code="330203")  # Haishu's sandbox pilot
    case, founder = await portal.submitted_case(land_use="warehousing", lines=["ai_short_drama"])
    assert case["sandbox"] is True and case["permits"] == ["radio_tv_production"]
    assert {m["code"] for m in case["materials"] if m["status"] == "missing"} == {"radio_tv_application", "content_staff_list"}
    [site] = [s for s in case["sub_cases"] if s["kind"] == "site_statement"]  # the standard channel opens at submit
    assert site["status"] == "open" and site["due_at"]
    # The offices sign in parallel with the founder's materials.
    for office in ("talent_office", "development_bureau"):
        case = await portal.act(case, f"sub-cases/{site['id']}/signoffs", {"office": office, "reference": f"{office}-2026-1"})
    case = await portal.act(case, "materials/radio_tv_application", supplied("radio_tv_application"), who=founder)
    case = await portal.act(case, "materials/content_staff_list", supplied("content_staff_list"), who=founder)
    assert case["status"] == "ready"
    case = await portal.act(case, "accept")
    permit = next(s for s in case["sub_cases"] if s["kind"] == "radio_tv_production")
    assert permit["status"] == "waiting" and permit["simplified_review"] is True
    early = await portal.act(case, f"sub-cases/{permit['id']}/referral", status=409)
    assert early["code"] == "permit_not_ready" and "营业执照" in early["detail"]  # named in the reader's language
    case = await portal.act(case, "steps/name_check/complete")
    case = await portal.act(case, "steps/business_licence/complete")
    blocked = await portal.act(case, f"sub-cases/{permit['id']}/referral", status=409)
    assert blocked["code"] == "permit_not_ready" and "场地情况说明" in blocked["detail"] and "营业执照" not in blocked["detail"]
    case = await portal.act(case, f"sub-cases/{site['id']}/signoffs", {"office": "street_office", "reference": "街道-2026-1"})
    assert next(s for s in case["sub_cases"] if s["kind"] == "site_statement")["status"] == "granted"
    again = await portal.act(case, f"sub-cases/{site['id']}/signoffs", {"office": "street_office"}, status=409)
    assert again["code"] == "invalid_transition"
    case = await portal.act(case, f"sub-cases/{permit['id']}/referral")
    referred = next(s for s in case["sub_cases"] if s["kind"] == "radio_tv_production")
    assert referred["status"] == "referred" and referred["due_at"]
    not_reviewer = await portal.act(case, f"sub-cases/{permit['id']}/decision", {"granted": True}, status=403)
    assert not_reviewer["code"] == "forbidden"
    case = await portal.act(
        case, f"sub-cases/{permit['id']}/decision", {"granted": True, "reference": "(川)字第 0042 号"}, who=portal.reviewer
    )
    assert "opc.registry.permit.granted.v1" in await outbox_types(portal, case["id"])
    timeline = [
        e["action"]
        for e in (await portal.ok(await portal.client.get(f"/v1/cases/{case['id']}/timeline", headers=founder)))["items"]
    ]
    assert (
        timeline.index("site_statement_opened")
        < timeline.index("accepted")
        < timeline.index("site_statement_issued")
        < timeline.index("permit_granted")
    )


async def test_pause_resume_and_one_extension_move_the_licence_due_date(portal: Portal) -> None:
    case, _ = await portal.submitted_case()
    case = await portal.act(case, "accept")
    assert case["licence_clock"]["due_at"] == "2026-10-08T16:00:00Z"
    portal.clock.advance(timedelta(days=1))  # Tue 10:00
    case = await portal.act(case, "corrections", {"items": {"articles_of_association": "缺少股东签字"}})
    assert case["status"] == "correction" and case["licence_clock"]["paused"] and case["licence_clock"]["due_at"] is None
    blocked = await portal.act(case, "steps/name_check/complete", status=409)
    assert blocked["code"] == "clock_paused_for_correction"
    portal.clock.advance(timedelta(days=1))  # Wed 10:00: one full working day paused
    case = await portal.act(case, "materials/articles_of_association", supplied("articles_of_association"), who=portal.caseworker)
    assert case["status"] == "accepted" and not case["licence_clock"]["paused"]
    assert case["licence_clock"]["due_at"] == "2026-10-09T16:00:00Z"  # one working day paused: Thu 8 Oct → Fri 9 Oct
    case = await portal.act(case, "extension", {"days": 1, "reason": "名称争议需核查"}, who=portal.reviewer)
    assert case["licence_clock"]["due_at"] == "2026-10-10T16:00:00Z"  # Sat 10 Oct is an adjusted working day
    second = await portal.act(case, "extension", {"days": 1, "reason": "再延一次"}, who=portal.reviewer, status=409)
    assert second["code"] == "extension_already_used"


async def test_bad_input_returns_problems_and_writes_nothing(portal: Portal) -> None:
    db = portal.client.app.state.db

    async def counts() -> tuple[int, int, int]:
        async with db.sessionmaker() as session:
            return tuple(
                [
                    (await session.execute(select(func.count()).select_from(table))).scalar_one()  # type: ignore[return-value]
                    for table in (t.cases, t.case_timeline if hasattr(t, "case_timeline") else t.timeline, db.platform.outbox)
                ]
            )

    community_id, ws = await portal.community()
    founder = portal.founder("founder-bad")
    before = await counts()
    bad_forms = [
        ({"founder": {"id_number": "110105194912310021"}}, "founder.id_number"),
        ({"founder": {"phone": "12345"}}, "founder.phone"),
        ({"founder": {"graduation_date": "2099-06-30", "is_graduate": True}}, "founder.graduation_date"),
        ({"business_lines": "ai_music"}, "business_lines"),
        ({"proposed_name": "x"}, "proposed_name"),
        ({"community_id": "not-a-uuid"}, "community_id"),
        ({"requested_permits": ["fishing_licence"]}, "requested_permits.0"),
        ({"documents": [{"code": "address_proof", "document_ref": "x", "checksum": "zz"}]}, "documents.0.checksum"),
        ({"surprise": 1}, "surprise"),
    ]
    for body, field in bad_forms:
        response = await portal.client.post("/v1/cases", json=body, headers={**founder, "Accept-Language": "en"})
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert field in {e["field"] for e in response.json()["errors"]}, (field, response.json())
    assert await counts() == before

    draft = await portal.ok(
        await portal.client.post("/v1/cases", json={"proposed_name": "只写了名字的公司"}, headers=founder), 201
    )
    before = await counts()
    incomplete = await portal.act(draft, "submit", who=founder, status=422)
    assert incomplete["code"] == "case_incomplete"
    assert {"founder.name", "founder.id_number", "business_lines", "workstation_id"} <= {e["field"] for e in incomplete["errors"]}
    no_if_match = await portal.client.patch(f"/v1/cases/{draft['id']}", json={"proposed_name": "新名字公司"}, headers=founder)
    assert no_if_match.status_code == 428
    stale = await portal.client.patch(
        f"/v1/cases/{draft['id']}", json={"proposed_name": "新名字公司"}, headers={**founder, "If-Match": '"99"'}
    )
    assert stale.status_code == 412 and stale.json()["code"] == "version_mismatch"
    unknown_line = portal.form(community_id, ws[0], ["time_travel"])
    other = await portal.ok(await portal.client.post("/v1/cases", json=unknown_line, headers=founder), 201)
    before = await counts()
    refused = await portal.act(other, "submit", who=founder, status=422)
    assert refused["errors"][0]["field"] == "business_lines"
    assert await counts() == before
    not_yours = await portal.client.post(
        "/v1/communities",
        json={"name": "越权社区", "district": "elsewhere", "kind": "incubator", "land_use": "office"},
        headers=portal.admin,
    )
    assert not_yours.status_code == 403


async def test_one_workstation_holds_one_active_firm(portal: Portal) -> None:
    community_id, ws = await portal.community(n=1)
    first = await portal.ok(
        await portal.client.post("/v1/cases", json=portal.form(community_id, ws[0], ["ai_music"]), headers=portal.founder("f-a")),
        201,
    )
    second = await portal.ok(
        await portal.client.post(
            "/v1/cases", json=portal.form(community_id, ws[0], ["ai_music"], seed=2), headers=portal.founder("f-b")
        ),
        201,
    )
    await portal.act(first, "submit", who=portal.founder("f-a"))
    taken = await portal.act(second, "submit", who=portal.founder("f-b"), status=409)
    assert taken["code"] == "workstation_occupied" and taken["errors"][0]["type"] == "occupied"


async def test_other_districts_and_other_founders_are_refused(portal: Portal) -> None:
    case, founder = await portal.submitted_case()
    other_district = token("elsewhere", "caseworker")
    other_founder = token(portal.district, "firm", sub="someone-else")
    for who in (other_district, other_founder):
        assert (await portal.client.get(f"/v1/cases/{case['id']}", headers=who)).status_code == 404
        assert (await portal.client.post(f"/v1/cases/{case['id']}/accept", headers={**who, "If-Match": '"1"'})).status_code == 404
    assert (await portal.client.get(f"/v1/cases/{case['id']}", headers=founder)).status_code == 200
    founder_accepting = await portal.act(case, "accept", who=founder, status=403)
    assert founder_accepting["code"] == "forbidden"
    queue = await portal.client.get("/v1/cases", params={"district": portal.district}, headers=other_district)
    assert queue.status_code == 403
    own = await portal.ok(await portal.client.get("/v1/cases", headers=founder))
    assert [c["id"] for c in own["items"]] == [case["id"]]
    assert (await portal.ok(await portal.client.get("/v1/cases", headers=other_founder)))["items"] == []


async def test_firm_status_changes_are_tracked_with_dates(portal: Portal) -> None:
    case, _ = await portal.submitted_case()
    case = await portal.act(case, "accept")
    case = await portal.act(case, "steps/name_check/complete")
    case = await portal.act(case, "steps/business_licence/complete")
    firm_id = case["firm_id"]
    portal.clock.advance(timedelta(days=40))
    suspended = await portal.ok(
        await portal.client.post(
            f"/v1/firms/{firm_id}/status",
            json={"status": "suspended", "effective_date": "2026-11-01", "reason": "停业整顿"},
            headers={**portal.caseworker, "If-Match": '"1"'},
        )
    )
    assert suspended["status"] == "suspended" and suspended["status_since"] == "2026-11-01"
    back = await portal.client.post(
        f"/v1/firms/{firm_id}/status",
        json={"status": "operating", "effective_date": "2026-10-01"},
        headers={**portal.caseworker, "If-Match": f'"{suspended["version"]}"'},
    )
    assert back.status_code == 422 and back.json()["errors"][0]["field"] == "effective_date"
    history = (await portal.ok(await portal.client.get(f"/v1/firms/{firm_id}/status-history", headers=portal.caseworker)))[
        "items"
    ]
    assert [h["status"] for h in history] == ["operating", "suspended"]
    assert "opc.registry.firm.status_changed.v1" in await outbox_types(portal, firm_id)


async def test_queue_filters_by_status_and_sla_risk(portal: Portal) -> None:
    case, _ = await portal.submitted_case()
    case = await portal.act(case, "accept")
    case = await portal.act(case, "assign", {"owner": "cw-2"})
    assert {s["owner"] for s in case["steps"] if s["state"] != "done"} == {"cw-2"}
    mine = await portal.ok(await portal.client.get("/v1/cases", params={"owner": "cw-2"}, headers=portal.caseworker))
    assert [c["id"] for c in mine["items"]] == [case["id"]]
    listed = await portal.ok(await portal.client.get("/v1/cases", params={"status": "accepted"}, headers=portal.caseworker))
    assert [c["id"] for c in listed["items"]] == [case["id"]] and listed["items"][0]["sla_risk"] == "on_track"
    portal.clock.advance(timedelta(days=2, hours=6))  # Wed 16:00: 1⅓ working days left
    on_track = await portal.ok(await portal.client.get("/v1/cases", params={"sla_risk": "on_track"}, headers=portal.caseworker))
    assert case["id"] in [c["id"] for c in on_track["items"]]
    portal.clock.advance(timedelta(days=1))  # Thu 1 Oct, a holiday: one working day (8 Oct) left
    at_risk = await portal.ok(await portal.client.get("/v1/cases", params={"sla_risk": "at_risk"}, headers=portal.caseworker))
    assert [c["id"] for c in at_risk["items"]] == [case["id"]]
    portal.clock.advance(timedelta(days=8))  # Fri 9 Oct: due was the end of Thu 8 Oct
    overdue = await portal.ok(await portal.client.get("/v1/cases", params={"sla_risk": "overdue"}, headers=portal.caseworker))
    assert [c["id"] for c in overdue["items"]] == [case["id"]]
