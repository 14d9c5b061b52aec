"""Team proposals, 1+N roadshows with export, exposure figures and who may see what."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from opc_devstack.pytest_plugin import bearer


async def test_a_team_is_proposed_with_a_lead_and_a_reason_per_member(desk) -> None:
    pm = await desk.supplier(
        "锦城统筹",
        "jinjiang",
        ["project_management", "marketing"],
        "项目经理型公司，统筹设计研发营销团队",
        price_min_fen=3_000_000,
    )
    writer = await desk.supplier("成华编剧社", "chenghua", ["script_writing"], "短剧剧本与品牌故事", price_min_fen=600_000)
    editor = await desk.supplier(
        "种草青年", "wuhou", ["video_editing", "marketing"], "短视频剪辑与投流推广", price_min_fen=1_200_000
    )
    demand = await desk.demand(
        title="城市更新街区文旅运营",
        description="街区文旅运营项目，需要项目经理牵头，剧本、剪辑与营销联合投标",
        capabilities={"script_writing": 1, "video_editing": 1, "marketing": 1},
        budget_max_fen=8_000_000,
        team_allowed=True,
    )
    team = await desk.ok(await desk.client.get(f"/v1/demands/{demand['id']}/team", headers=desk.owner))
    assert team["optimal"] is True
    members = {m["firm_id"]: m for m in team["members"]}
    assert set(members) == {str(pm), str(writer), str(editor)}
    lead = team["members"][0]
    assert lead["lead"] and lead["firm_id"] == str(pm) and lead["reason"]["zh-CN"].startswith("担任牵头方（项目统筹）")
    assert members[str(writer)]["covers"] == ["script_writing"] and members[str(writer)]["reason"]["zh-CN"].startswith("负责剧本")
    assert team["price_fen"] == 4_800_000
    refused_award = await desk.client.post(
        f"/v1/demands/{demand['id']}/award-team",
        json={"lead_firm_id": str(pm), "member_firm_ids": [str(writer), str(writer)]},
        headers={**desk.owner, "If-Match": '"2"'},
    )
    assert refused_award.status_code == 422
    awarded = await desk.ok(
        await desk.client.post(
            f"/v1/demands/{demand['id']}/award-team",
            json={"lead_firm_id": str(pm), "member_firm_ids": [str(writer), str(editor)]},
            headers={**desk.owner, "If-Match": '"2"'},
        )
    )
    assert awarded["status"] == "matched" and awarded["firm_id"] == str(pm)
    assert set(awarded["member_firm_ids"]) == {str(writer), str(editor)}
    busy = await desk.ok(await desk.client.get(f"/v1/suppliers/{writer}", headers=bearer("*", ("caseworker",))))
    assert busy["active_engagements"] == 1
    solo = await desk.demand(capabilities={"script_writing": 1})
    no_team = await desk.client.post(
        f"/v1/demands/{solo['id']}/award-team", json={"lead_firm_id": str(pm)}, headers={**desk.owner, "If-Match": '"2"'}
    )
    assert no_team.status_code == 409
    tight = await desk.demand(capabilities={"script_writing": 1, "video_editing": 1, "marketing": 1}, budget_max_fen=1_000_000)
    refused = await desk.client.get(f"/v1/demands/{tight['id']}/team", headers=desk.owner)
    assert refused.status_code == 409 and refused.json()["code"] == "no_team"


async def test_a_roadshow_groups_the_owner_with_n_matched_firms_and_exports(desk) -> None:
    firms = [await desk.supplier(f"剪辑{i}", "wuhou", ["video_editing"], "短视频剪辑") for i in range(4)]
    demand = await desk.demand(capabilities={"video_editing": 1})
    body = {
        "demand_id": demand["id"],
        "title": "武侯 1+N 路演",
        "held_at": (desk.clock.now() + timedelta(days=7)).isoformat(),
        "n": 3,
        "agenda": [{"time": "14:00", "item": "需求方介绍场景"}, {"time": "14:20", "item": "OPC 路演（每家 8 分钟）"}],
    }
    refused = await desk.client.post("/v1/roadshows", json=body, headers=desk.owner)
    assert refused.status_code == 403  # roadshows are run by district staff
    roadshow = await desk.ok(await desk.client.post("/v1/roadshows", json=body, headers=desk.staff), 201)
    assert len(roadshow["firms"]) == 3 and {f["firm_id"] for f in roadshow["firms"]} <= {str(f) for f in firms}
    exported = await desk.client.get(f"/v1/roadshows/{roadshow['id']}/export", headers=desk.staff)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert rows[0][:2] == ["路演 Roadshow", "武侯 1+N 路演"] and rows[1][1] == "武侯文旅集团"
    assert ["时间 Time", "议程 Agenda item"] in rows and ["14:00", "需求方介绍场景"] in rows
    other = await desk.client.get(f"/v1/roadshows/{roadshow['id']}", headers=bearer("gaoxin", ("caseworker",)))
    assert other.status_code == 404
    assert len(await desk.outbox("opc.matching.roadshow.scheduled.v1")) == 1


async def test_scheduling_a_roadshow_again_under_its_idempotency_key_adds_none(desk) -> None:
    for i in range(2):
        await desk.supplier(f"配乐{i}", "wuhou", ["music_production"], "原创配乐")
    demand = await desk.demand(capabilities={"music_production": 1})
    body = {"demand_id": demand["id"], "title": "配乐路演", "held_at": (desk.clock.now() + timedelta(days=3)).isoformat(), "n": 2}
    headers = {**desk.staff, "Idempotency-Key": "roadshow-once"}
    first = await desk.ok(await desk.client.post("/v1/roadshows", json=body, headers=headers), 201)
    again = await desk.ok(await desk.client.post("/v1/roadshows", json=body, headers=headers), 201)
    assert again["id"] == first["id"]
    changed = await desk.client.post("/v1/roadshows", json={**body, "n": 1}, headers=headers)
    assert changed.status_code == 422 and changed.json()["code"] == "idempotency_key_reused"
    assert len(await desk.outbox("opc.matching.roadshow.scheduled.v1")) == 1


async def test_exposure_figures_per_district_for_admins(desk) -> None:
    shown = [await desk.supplier(f"配音{i}", "wuhou", ["voice"], "配音旁白", capacity=3) for i in range(3)]
    await desk.supplier("高新配音", "gaoxin", ["voice"], "配音", capacity=3)
    demand = await desk.demand(capabilities={"voice": 1})
    await desk.ok(
        await desk.client.post(
            f"/v1/demands/{demand['id']}/dispatch", json={"fan_out": 2}, headers={**desk.owner, "If-Match": '"2"'}
        )
    )
    assert (await desk.client.get("/v1/exposure", headers=desk.staff)).status_code == 403  # admins only
    mine = (await desk.ok(await desk.client.get("/v1/exposure", headers=desk.admin)))["items"]
    assert [r["district"] for r in mine] == ["wuhou"]
    wuhou = mine[0]
    assert wuhou["active_suppliers"] == 3 and wuhou["offers_30d"] + 0 >= 1
    assert (0 <= wuhou["exposure_gini"] < 1 and wuhou["share_with_offer_30d"] in (1 / 3, 2 / 3, 1.0)) or wuhou[
        "share_with_offer_30d"
    ] > 0
    city = (await desk.ok(await desk.client.get("/v1/exposure", headers=desk.city_admin)))["items"]
    assert (
        city[0]["district"] is None
        and city[0]["active_suppliers"] == 4
        and {r["district"] for r in city[1:]} == {"gaoxin", "wuhou"}
    )
    assert (await desk.client.get("/v1/exposure?district=gaoxin", headers=desk.admin)).status_code == 403
    assert len(shown) == 3


async def test_who_may_see_and_change_what(desk) -> None:
    firm = await desk.supplier("光影", "wuhou", ["voice"], "配音")
    demand = await desk.demand(capabilities={"voice": 1})
    other_owner = bearer("wuhou", ("scenario_owner",), sub="someone-else")
    assert (await desk.client.get(f"/v1/demands/{demand['id']}", headers=other_owner)).status_code == 404
    assert (await desk.client.get(f"/v1/demands/{demand['id']}", headers=bearer("gaoxin", ("caseworker",)))).status_code == 404
    assert (await desk.client.get(f"/v1/demands/{demand['id']}", headers=desk.staff)).status_code == 200
    # firms see the open demand list, not the ranking
    firm_token = desk.firm_token(firm)
    assert (await desk.client.get(f"/v1/demands/{demand['id']}", headers=firm_token)).status_code == 200
    assert (await desk.client.get(f"/v1/demands/{demand['id']}/candidates", headers=firm_token)).status_code == 403
    listed = await desk.ok(await desk.client.get("/v1/demands", headers=firm_token))
    assert [d["id"] for d in listed["items"]] == [demand["id"]]
    # a firm edits only its own profile; staff cannot edit it
    other = await desk.supplier("别家", "wuhou", ["voice"], "配音")
    edit = {"capabilities": ["voice"], "description": "改", "capacity": 1}
    assert (
        await desk.client.put(f"/v1/suppliers/{other}/profile", json=edit, headers={**firm_token, "If-Match": '"2"'})
    ).status_code == 404
    assert (
        await desk.client.put(f"/v1/suppliers/{other}/profile", json=edit, headers={**desk.staff, "If-Match": '"2"'})
    ).status_code == 403
    stale = await desk.client.put(f"/v1/suppliers/{firm}/profile", json=edit, headers={**firm_token, "If-Match": '"1"'})
    assert stale.status_code == 412
    bad = await desk.client.put(
        f"/v1/suppliers/{firm}/profile", json={**edit, "capabilities": ["juggling"]}, headers={**firm_token, "If-Match": '"2"'}
    )
    assert bad.status_code == 422 and "capabilities" in bad.text
    # actions on a demand need its version
    assert (await desk.client.post(f"/v1/demands/{demand['id']}/cancel", headers=desk.owner)).status_code == 428
    assert (
        await desk.client.post(f"/v1/demands/{demand['id']}/cancel", headers={**other_owner, "If-Match": '"2"'})
    ).status_code == 404
    cancelled = await desk.ok(
        await desk.client.post(f"/v1/demands/{demand['id']}/cancel", headers={**desk.owner, "If-Match": '"2"'})
    )
    assert cancelled["status"] == "cancelled"
    again = await desk.client.post(f"/v1/demands/{demand['id']}/cancel", headers={**desk.owner, "If-Match": '"3"'})
    assert again.status_code == 409 and again.json()["code"] == "demand_state"


async def test_open_demands_are_assigned_at_once_within_capacities(desk) -> None:
    solo = await desk.supplier("唯一剪辑", "wuhou", ["video_editing"], "短视频剪辑", capacity=1)
    pair = await desk.supplier("两单剪辑", "wuhou", ["video_editing"], "短视频剪辑调色", capacity=2)
    demands = [await desk.demand(title=f"剪辑需求{i}", capabilities={"video_editing": 1}) for i in range(4)]
    assert (await desk.client.post("/v1/assignments/proposal", headers=desk.staff)).status_code == 403
    got = await desk.ok(await desk.client.post("/v1/assignments/proposal", headers=desk.admin))
    assert got["demands"] == 4 and got["assigned"] == 3 and got["fill_rate"] == 0.75 and got["certified_gap"] <= 0.005
    taken = [i["firm_id"] for i in got["items"] if i["firm_id"]]
    assert taken.count(str(solo)) == 1 and taken.count(str(pair)) == 2
    assert {i["demand_id"] for i in got["items"]} == {d["id"] for d in demands}
