"""Every state-changing action on a case or a firm needs If-Match: 428 without it, 412 when stale,
and neither changes anything (issue 6, item 13)."""

from __future__ import annotations

import uuid

from opc_shared.routes import ApiRoute, api_routes

from .conftest import Portal


async def version_and_timeline(portal: Portal, case_id: str) -> tuple[int, int]:
    case = await portal.ok(await portal.client.get(f"/v1/cases/{case_id}", headers=portal.caseworker))
    timeline = await portal.ok(await portal.client.get(f"/v1/cases/{case_id}/timeline", headers=portal.caseworker))
    return case["version"], len(timeline["items"])


def _action_routes(app) -> list[ApiRoute]:
    """Every route that changes an existing case or firm: found from the app, so a new action is covered too."""
    return [
        r
        for r in api_routes(app)
        if r.methods & {"POST", "PATCH", "PUT", "DELETE"}
        and (r.path.startswith("/v1/cases/{case_id}") or r.path.startswith("/v1/firms/{firm_id}"))
    ]


def _fill(path: str, case: dict, firm_id: str | None) -> str:
    site = next((s["id"] for s in case["sub_cases"]), str(uuid.uuid4()))
    return (
        path.replace("{case_id}", case["id"])
        .replace("{firm_id}", firm_id or str(uuid.uuid4()))
        .replace("{sub_id}", site)
        .replace("{code}", "address_proof")
        .replace("{step}", "name_check")
    )


async def test_every_action_without_if_match_is_428_and_changes_nothing(portal: Portal) -> None:
    case, _ = await portal.submitted_case()
    case = await portal.act(case, "accept")
    case = await portal.act(case, "steps/name_check/complete")
    case = await portal.act(case, "steps/business_licence/complete")
    routes = _action_routes(portal.client.app)
    assert {"/v1/cases/{case_id}/submit", "/v1/cases/{case_id}/accept", "/v1/cases/{case_id}/steps/{step}/complete"} <= {
        r.path for r in routes
    }
    before = await version_and_timeline(portal, case["id"])
    for route in routes:
        for method in route.methods & {"POST", "PATCH", "PUT", "DELETE"}:
            response = await portal.client.request(
                method, _fill(route.path, case, case["firm_id"]), json={}, headers=portal.admin
            )
            assert response.status_code == 428, (method, route.path, response.status_code, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"] == "precondition_required"
    assert await version_and_timeline(portal, case["id"]) == before


async def test_stale_if_match_is_412_on_actions(portal: Portal) -> None:
    case, _ = await portal.submitted_case()
    stale = {**portal.caseworker, "If-Match": f'"{case["version"] - 1}"'}
    before = await version_and_timeline(portal, case["id"])
    attempts = [
        ("accept", {}),
        ("steps/name_check/complete", {"reference": "N-1"}),
        ("assign", {"owner": "cw-9"}),
        ("materials/address_proof", {"document_ref": "dms://x", "checksum": "a" * 64}),
        ("corrections", {"items": {"address_proof": "模糊"}}),
        ("withdraw", {"reason": "不办了"}),
    ]
    for path, body in attempts:
        response = await portal.client.post(f"/v1/cases/{case['id']}/{path}", json=body, headers=stale)
        assert response.status_code == 412, (path, response.text)
        assert response.json()["code"] == "version_mismatch"
    assert await version_and_timeline(portal, case["id"]) == before
    # The current version still works, and its answer carries the next ETag.
    accepted = await portal.client.post(
        f"/v1/cases/{case['id']}/accept", headers={**portal.caseworker, "If-Match": f'"{case["version"]}"'}
    )
    assert accepted.status_code == 200 and accepted.headers["ETag"] == f'"{case["version"] + 1}"'


async def test_firm_status_needs_the_firms_version(portal: Portal) -> None:
    case, _ = await portal.submitted_case()
    for step in ("accept", "steps/name_check/complete", "steps/business_licence/complete"):
        case = await portal.act(case, step)
    firm = await portal.client.get(f"/v1/firms/{case['firm_id']}", headers=portal.caseworker)
    assert firm.headers["ETag"] == f'"{firm.json()["version"]}"'
    body = {"status": "suspended", "effective_date": "2026-09-28"}
    url = f"/v1/firms/{case['firm_id']}/status"
    assert (await portal.client.post(url, json=body, headers=portal.caseworker)).status_code == 428
    stale = await portal.client.post(url, json=body, headers={**portal.caseworker, "If-Match": '"7"'})
    assert stale.status_code == 412
    ok = await portal.client.post(url, json=body, headers={**portal.caseworker, "If-Match": firm.headers["ETag"]})
    assert ok.status_code == 200 and ok.json()["status"] == "suspended"
    again = await portal.client.post(url, json=body, headers={**portal.caseworker, "If-Match": firm.headers["ETag"]})
    assert again.status_code == 412
