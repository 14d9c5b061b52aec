"""What a portal meets at the edges: normalised input, one answer per situation, the right status."""

from __future__ import annotations

from .conftest import Portal


async def test_full_width_phone_digits_are_stored_normalised_and_other_scripts_refused(portal: Portal) -> None:
    community_id, ws = await portal.community()
    founder = portal.founder("founder-fullwidth")
    form = portal.form(community_id, ws[0], ["agent_development"])
    form["founder"]["phone"] = "13８００１３８０００"
    case = await portal.ok(await portal.client.post("/v1/cases", json=form, headers=founder), 201)
    assert case["form"]["founder"]["phone"] == "13800138000"
    stored = await portal.ok(await portal.client.get(f"/v1/cases/{case['id']}", headers=founder))
    assert stored["form"]["founder"]["phone"] == "13800138000"
    patched = await portal.client.patch(
        f"/v1/cases/{case['id']}",
        json={"founder": {"phone": "١٣٨٠٠١٣٨٠٠٠"}},
        headers={**founder, "If-Match": f'"{stored["version"]}"'},
    )
    assert patched.status_code == 422 and patched.json()["errors"][0]["field"] == "founder.phone"
    patched = await portal.ok(
        await portal.client.patch(
            f"/v1/cases/{case['id']}",
            json={"founder": {"phone": "１３９ ００１３ ９０００"}},
            headers={**founder, "If-Match": f'"{stored["version"]}"'},
        )
    )
    assert patched["form"]["founder"]["phone"] == "13900139000"
