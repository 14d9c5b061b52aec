"""Profiles, demands, ranking with reasons, dispatch, engagement and selection through the API."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from matching.service.dispatch import expire_due
from matching.service.ranking import holder_of


async def suppliers(desk) -> dict[str, uuid.UUID]:
    return {
        "guangying": await desk.supplier(
            "光影短剧工作室",
            "wuhou",
            ["script_writing", "voice", "video_editing"],
            "专注文旅短视频剧本、配音与剪辑，服务过武侯祠周边景区",
        ),
        "xiaoman": await desk.supplier("小满影视", "wuhou", ["script_writing", "video_editing"], "美食探店短视频剧本与剪辑"),
        "chuanyin": await desk.supplier("川音声场", "chenghua", ["voice", "music_production"], "广告配音、方言旁白和原创配乐"),
        "biaozhu": await desk.supplier("数标工坊", "gaoxin", ["data_labelling"], "大模型语料数据标注与清洗"),
    }


async def test_a_posted_demand_is_ranked_with_reasons_and_suspended_firms_vanish(desk) -> None:
    firms = await suppliers(desk)
    demand = await desk.demand()
    assert demand["status"] == "open" and demand["version"] == 2
    got = await desk.ok(await desk.client.get(f"/v1/demands/{demand['id']}/candidates?limit=10", headers=desk.owner))
    ids = [i["firm_id"] for i in got["items"]]
    assert ids[0] == str(firms["guangying"]) and str(firms["biaozhu"]) not in ids  # no required capability: not a candidate
    top = got["items"][0]
    assert top["explanation"]["zh-CN"].startswith("覆盖所需能力 3/3：剧本、配音、剪辑；")
    assert "同在武侯区" in top["explanation"]["zh-CN"] and "covers 3/3 required capabilities" in top["explanation"]["en"]
    chuanyin = next(i for i in got["items"] if i["firm_id"] == str(firms["chuanyin"]))
    assert (
        "缺少：剧本、剪辑" in chuanyin["explanation"]["zh-CN"]
        and "位于成华区（需求在武侯区）" in chuanyin["explanation"]["zh-CN"]
    )
    # shown once per demand: the second listing reports the first showing
    again = await desk.ok(await desk.client.get(f"/v1/demands/{demand['id']}/candidates?limit=10", headers=desk.owner))
    assert again["items"][0]["firm_id"] == str(firms["guangying"])
    await desk.suspend(firms["guangying"])
    after = await desk.ok(await desk.client.get(f"/v1/demands/{demand['id']}/candidates", headers=desk.owner))
    assert str(firms["guangying"]) not in [i["firm_id"] for i in after["items"]]


async def test_bad_demands_are_refused_naming_the_field_and_nothing_is_written(desk) -> None:
    bad = await desk.client.post(
        "/v1/demands",
        json={"title": "x", "description": "y", "owner_name": "z", "sector": "mining", "capabilities": {"juggling": 1}},
        headers=desk.owner,
    )
    assert bad.status_code == 422
    assert {"sector", "capabilities"} <= {e["field"].split(".")[-1] for e in bad.json().get("errors", [])} or (
        "sector" in bad.text and "capabilities" in bad.text
    )
    firm = await desk.supplier("光影", "wuhou", ["voice"], "配音")
    refused = await desk.client.post("/v1/demands", json={}, headers=desk.firm_token(firm))
    assert refused.status_code in (403, 422)
    listed = await desk.ok(await desk.client.get("/v1/demands", headers=desk.owner))
    assert listed["items"] == []


async def test_dispatch_first_accept_wins_others_are_told_and_the_engagement_is_selected(desk) -> None:
    firms = await suppliers(desk)
    demand = await desk.demand()
    offers = await desk.ok(
        await desk.client.post(
            f"/v1/demands/{demand['id']}/dispatch",
            json={"fan_out": 3, "timeout_s": 600},
            headers={**desk.owner, "If-Match": '"2"'},
        )
    )
    assert len(offers) == 3 and offers[0]["firm_id"] == str(firms["guangying"])
    by_firm = {o["firm_id"]: o for o in offers}
    second = offers[1]
    # a firm answers only its own offers
    stranger = await desk.client.post(f"/v1/offers/{second['id']}/accept", headers=desk.firm_token(firms["biaozhu"]))
    assert stranger.status_code == 404
    won = await desk.ok(
        await desk.client.post(f"/v1/offers/{second['id']}/accept", headers=desk.firm_token(uuid.UUID(second["firm_id"])))
    )
    assert won["status"] == "accepted"
    first = by_firm[str(firms["guangying"])]
    late = await desk.client.post(f"/v1/offers/{first['id']}/accept", headers=desk.firm_token(firms["guangying"]))
    assert late.status_code == 409 and late.json()["code"] == "demand_taken"
    mine = (
        await desk.ok(
            await desk.client.get(f"/v1/suppliers/{firms['guangying']}/offers", headers=desk.firm_token(firms["guangying"]))
        )
    )["items"]
    assert mine[0]["status"] == "withdrawn" and mine[0]["reason"] == "taken"
    state = await desk.ok(await desk.client.get(f"/v1/demands/{demand['id']}", headers=desk.owner))
    assert state["status"] == "matched" and state["firm_id"] == second["firm_id"]
    v = state["version"]
    await desk.ok(await desk.client.post(f"/v1/demands/{demand['id']}/start", headers={**desk.owner, "If-Match": f'"{v}"'}))
    done = await desk.ok(
        await desk.client.post(
            f"/v1/demands/{demand['id']}/complete",
            json={"actual_investment_fen": 3_200_000, "rating": 5},
            headers={**desk.owner, "If-Match": f'"{v + 1}"'},
        )
    )
    assert done["status"] == "completed" and done["actual_investment_fen"] == 3_200_000
    profile = await desk.ok(await desk.client.get(f"/v1/suppliers/{second['firm_id']}", headers=desk.staff))
    assert profile["rating"] == 5 and profile["rating_count"] == 1 and profile["active_engagements"] == 0
    nomination = await desk.ok(await desk.client.post(f"/v1/demands/{demand['id']}/nominate", headers=desk.owner), 201)
    assert nomination["year"] == 2026
    refused = await desk.client.post(
        "/v1/scenario-demos/selections", json={"year": 2026, "nomination_ids": [nomination["id"]]}, headers=desk.admin
    )
    assert refused.status_code == 403  # a district admin does not select for the city
    chosen = await desk.ok(
        await desk.client.post(
            "/v1/scenario-demos/selections", json={"year": 2026, "nomination_ids": [nomination["id"]]}, headers=desk.city_admin
        ),
        201,
    )
    assert chosen[0]["firm_id"] == second["firm_id"]
    selected = await desk.outbox("opc.matching.scenario_demo.selected.v1")
    assert selected[-1]["actual_investment_fen"] == 3_200_000 and selected[-1]["firm_id"] == second["firm_id"]
    kinds = [
        e["kind"]
        for e in (await desk.ok(await desk.client.get(f"/v1/demands/{demand['id']}/timeline", headers=desk.owner)))["items"]
    ]
    assert kinds[:5] == ["created", "offer_made", "offer_made", "offer_made", "offer_accepted"]
    assert kinds.count("offer_withdrawn") == 2 and kinds[-3:] == ["completed", "nominated", "selected"]
    assert len(await desk.outbox("opc.matching.offer.withdrawn.v1")) == 2


async def test_concurrent_accepts_on_two_replicas_have_exactly_one_winner(desk, service_client) -> None:
    from matching.main import spec

    firms = [await desk.supplier(f"剪辑工作室{i}", "wuhou", ["video_editing"], "短视频剪辑与调色", capacity=3) for i in range(6)]
    demand = await desk.demand(capabilities={"video_editing": 1})
    offers = await desk.ok(
        await desk.client.post(
            f"/v1/demands/{demand['id']}/dispatch", json={"fan_out": 6}, headers={**desk.owner, "If-Match": '"2"'}
        )
    )
    assert {o["firm_id"] for o in offers} == {str(f) for f in firms}
    async with service_client(spec) as other:
        other.app.state.clock = desk.clock
        clients = [desk.client, other] * 3
        answers = await asyncio.gather(
            *(
                c.post(f"/v1/offers/{o['id']}/accept", headers=desk.firm_token(uuid.UUID(o["firm_id"])))
                for c, o in zip(clients, offers, strict=True)
            )
        )
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 409, 409, 409, 409, 409], [a.text for a in answers]
    assert {a.json()["code"] for a in answers if a.status_code == 409} <= {"demand_taken", "offer_closed"}
    assert len(await desk.outbox("opc.matching.offer.accepted.v1")) == 1
    state = await desk.ok(await desk.client.get(f"/v1/demands/{demand['id']}", headers=desk.owner))
    winner = next(a.json() for a in answers if a.status_code == 200)
    assert state["status"] == "matched" and state["firm_id"] == winner["firm_id"]


async def test_unanswered_offers_expire_and_the_next_suppliers_are_offered(desk) -> None:
    firms = [await desk.supplier(f"配音{i}", "wuhou", ["voice"], "配音旁白", capacity=1) for i in range(5)]
    demand = await desk.demand(capabilities={"voice": 1})
    first = await desk.ok(
        await desk.client.post(
            f"/v1/demands/{demand['id']}/dispatch",
            json={"fan_out": 2, "timeout_s": 300},
            headers={**desk.owner, "If-Match": '"2"'},
        )
    )
    holder = holder_of(desk.client.app.state)
    async with desk.client.app.state.db.uow() as uow:
        assert await expire_due(uow, holder, desk.clock.now()) == 0  # not due yet
    desk.clock.advance(timedelta(seconds=301))
    async with desk.client.app.state.db.uow() as uow:
        assert await expire_due(uow, holder, desk.clock.now()) == 2
        await uow.commit()
    late = await desk.client.post(f"/v1/offers/{first[0]['id']}/accept", headers=desk.firm_token(uuid.UUID(first[0]["firm_id"])))
    assert late.status_code == 409 and late.json()["code"] == "offer_closed"
    offered = {uuid.UUID(o["firm_id"]) for o in first}
    timeline = (await desk.ok(await desk.client.get(f"/v1/demands/{demand['id']}/timeline", headers=desk.owner)))["items"]
    second_round = [e for e in timeline if e["kind"] == "offer_made" and e["detail"]["round"] == 2]
    assert len(second_round) == 2 and not offered & {uuid.UUID(e["detail"]["firm_id"]) for e in second_round}
    assert [e["kind"] for e in timeline].count("offer_expired") == 2
    # a decline of the whole round re-offers at once
    for e in second_round:
        firm = uuid.UUID(e["detail"]["firm_id"])
        await desk.ok(
            await desk.client.post(
                f"/v1/offers/{e['detail']['offer_id']}/decline", json={"reason": "档期已满"}, headers=desk.firm_token(firm)
            )
        )
    timeline = (await desk.ok(await desk.client.get(f"/v1/demands/{demand['id']}/timeline", headers=desk.owner)))["items"]
    third = [e for e in timeline if e["kind"] == "offer_made" and e["detail"]["round"] == 3]
    assert len(third) == 1 and uuid.UUID(third[0]["detail"]["firm_id"]) in set(firms)
    assert len(await desk.outbox("opc.matching.offer.expired.v1")) == 2


async def test_a_profile_edit_on_one_replica_shows_in_another_replicas_ranking(desk, service_client) -> None:
    from matching.main import spec

    firm = await desk.supplier("天府元宇宙", "tianfu", ["3d_modelling"], "三维建模与渲染，数字展示")
    other_firm = await desk.supplier("郫都游戏社", "pidu", ["3d_modelling"], "游戏关卡场景建模")
    demand = await desk.demand(
        title="蜀锦纹样数字化",
        description="蜀锦纹样数字化复原与三维展示",
        capabilities={"3d_modelling": 1},
        location_district=None,
    )
    async with service_client(spec) as replica:
        replica.app.state.clock = desk.clock
        before = await desk.ok(await replica.get(f"/v1/demands/{demand['id']}/candidates", headers=desk.owner))
        token = desk.firm_token(other_firm, "pidu")
        current = await desk.client.get(f"/v1/suppliers/{other_firm}", headers=token)
        body = {"capabilities": ["3d_modelling"], "description": "擅长蜀锦纹样数字化复原与三维建模", "capacity": 2}
        await desk.ok(
            await desk.client.put(
                f"/v1/suppliers/{other_firm}/profile", json=body, headers={**token, "If-Match": current.headers["ETag"]}
            )
        )
        after = await desk.ok(await replica.get(f"/v1/demands/{demand['id']}/candidates", headers=desk.owner))
    assert before["items"][0]["firm_id"] == str(firm)
    assert after["items"][0]["firm_id"] == str(other_firm)
    assert "简介与需求描述高度相关" in after["items"][0]["explanation"]["zh-CN"]
