"""The deficiency notice (一次性告知书) as a document: numbered, dated, every missing item with its
name and why it is needed, the deadline and the reminders, in zh-CN and en and as a printable page."""

from __future__ import annotations

from opc_devstack.flows import supplied, token

from .conftest import Portal


async def test_the_notice_at_submit_lists_everything_missing_with_its_reason(portal: Portal) -> None:
    case, founder = await portal.submitted_case(land_use="warehousing", lines=["ai_short_drama"])
    zh = (await portal.ok(await portal.client.get(f"/v1/cases/{case['id']}/notices", headers=founder)))["items"]
    [notice] = zh
    assert notice["kind"] == "request" and notice["number"].startswith(f"{portal.district.upper()}-2026-")
    assert notice["title"] == "一次性告知书" and notice["language"] == "zh-CN"
    items = {i["code"]: i for i in notice["items"]}
    assert set(items) == {"radio_tv_application", "content_staff_list", "site_statement"}
    assert items["radio_tv_application"]["name"] == "广播电视节目制作经营许可申请表"
    assert (
        "AI 短剧" in items["radio_tv_application"]["reason"]
        and "广播电视节目制作经营许可证" in items["radio_tv_application"]["reason"]
    )
    assert "仓储" in items["site_statement"]["reason"] and items["site_statement"]["provided_by"] == "offices"
    # Submitted Mon 28 Sep 10:00 in Chengdu: reminders on 29 Sep, 1 and 3 Oct; due by the end of 3 Oct.
    assert notice["reminders"] == ["2026-09-29", "2026-10-01", "2026-10-03"]
    assert notice["deadline_at"] == "2026-10-03T16:00:00Z" and "2026年10月3日" in notice["deadline_text"]

    en = (
        await portal.ok(await portal.client.get(f"/v1/cases/{case['id']}/notices", headers={**founder, "Accept-Language": "en"}))
    )["items"]
    en_items = {i["code"]: i for i in en[0]["items"]}
    assert en[0]["title"] == "Consolidated deficiency notice" and en[0]["number"] == notice["number"]
    assert en_items["radio_tv_application"]["reason"] == (
        "business line AI short drama needs the Radio & TV programme production and operation licence"
    )
    assert en_items["site_statement"]["reason"].startswith(
        "the building's land use is warehousing, not office, so the site statement is needed"
    )

    page = await portal.client.get(f"/v1/cases/{case['id']}/notices/{notice['id']}/print", headers=founder)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert notice["number"] in page.text and "广播电视节目制作经营许可申请表" in page.text and "<script" not in page.text
    # Others see neither the list nor the page.
    stranger = portal.founder("someone-else")
    assert (await portal.client.get(f"/v1/cases/{case['id']}/notices", headers=stranger)).status_code == 404
    assert (await portal.client.get(f"/v1/cases/{case['id']}/notices/{notice['id']}/print", headers=stranger)).status_code == 404
    for code in ("radio_tv_application", "content_staff_list"):  # leave nothing for other tests' reminder rounds
        case = await portal.act(case, f"materials/{code}", supplied(code), who=founder)


async def test_each_correction_gets_its_own_numbered_notice(portal: Portal) -> None:
    case, founder = await portal.submitted_case()
    assert (await portal.ok(await portal.client.get(f"/v1/cases/{case['id']}/notices", headers=founder)))[
        "items"
    ] == []  # nothing missing
    case = await portal.act(case, "accept")
    case = await portal.act(case, "corrections", {"items": {"address_proof": "租赁合同已过期"}})
    [correction] = (await portal.ok(await portal.client.get(f"/v1/cases/{case['id']}/notices", headers=founder)))["items"]
    assert correction["kind"] == "correction" and correction["title"] == "补正告知书"
    [item] = correction["items"]
    assert item["code"] == "address_proof" and item["note"] == "租赁合同已过期" and "租赁合同已过期" in item["reason"]
    case = await portal.act(case, "materials/address_proof", supplied("address_proof", "v2"), who=founder)
    case = await portal.act(case, "corrections", {"items": {"articles_of_association": "缺少签字页"}})
    numbers = [
        n["number"]
        for n in (await portal.ok(await portal.client.get(f"/v1/cases/{case['id']}/notices", headers=founder)))["items"]
    ]
    assert len(numbers) == 2 and len(set(numbers)) == 2
    await portal.act(case, "materials/articles_of_association", supplied("articles_of_association", "v2"), who=founder)


async def test_the_materials_catalogue_names_every_material_in_both_languages(portal: Portal) -> None:
    rows = {
        m["code"]: m
        for m in (
            await portal.ok(
                await portal.client.get("/v1/materials", params={"limit": 200}, headers=token(portal.district, "firm"))
            )
        )["items"]
    }
    assert {
        "founder_id_copy",
        "graduation_certificate",
        "radio_tv_application",
        "icp_domain_certificate",
        "site_statement",
    } <= set(rows)
    assert rows["radio_tv_application"]["permit"] == "radio_tv_production" and rows["site_statement"]["provided_by"] == "offices"
    assert all(m["name_zh"] and m["name_en"] for m in rows.values())
