"""The registration journey through the registry's public API, as a district portal drives it.
Used by the demo loader and by tests; it exercises the real workflow, never a shortcut."""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass

import httpx

from opc_shared.auth import mint_token
from opc_shared.settings import DEFAULT_JWT_SECRET

BASE_MATERIALS = ("founder_id_copy", "articles_of_association", "address_proof")


def token(district: str, *roles: str, sub: str | None = None, firm_id: str | None = None) -> dict[str, str]:
    secret = os.environ.get("OPC_JWT_SECRET", DEFAULT_JWT_SECRET)
    jwt = mint_token(secret, sub=sub or f"{'-'.join(roles)}@{district}", district=district, roles=list(roles), firm_id=firm_id)
    return {"Authorization": f"Bearer {jwt}"}


def document(code: str, case_hint: str = "") -> dict[str, str]:
    ref = f"dms://{case_hint or 'demo'}/{code}.pdf"
    return {"code": code, "document_ref": ref, "checksum": hashlib.sha256(ref.encode()).hexdigest()}


def supplied(code: str, case_hint: str = "") -> dict[str, str]:
    """The body that supplies one material later: its document reference and checksum."""
    doc = document(code, case_hint)
    return {"document_ref": doc["document_ref"], "checksum": doc["checksum"]}


def id_number(seed: int) -> str:
    """A valid GB 11643 number for test founders (born 1995-06-15 in Wuhou)."""
    first17 = f"51010719950615{seed % 1000:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


@dataclass
class Registered:
    case_id: str
    firm_id: str
    uscc: str


class RegistryClient:
    def __init__(self, base_url: str, district: str, client: httpx.Client | None = None) -> None:
        self.base = base_url.rstrip("/")
        self.district = district
        self.http = client or httpx.Client(timeout=15)
        self.admin = token(district, "admin")
        self.caseworker = token(district, "caseworker", sub=f"caseworker@{district}")

    def _ok(self, response: httpx.Response) -> dict:
        if response.status_code >= 400:
            raise AssertionError(f"{response.request.method} {response.request.url}: {response.status_code} {response.text}")
        return response.json()

    def community(
        self,
        name: str,
        land_use: str = "office",
        kind: str = "industrial_park",
        workstations: int = 3,
        division_code: str | None = None,
    ) -> tuple[str, list[str]]:
        """``division_code``: needed in a functional zone (gaoxin, tianfu), the division the building lies in."""
        key = {"Idempotency-Key": f"community-{self.district}-{hashlib.sha256(name.encode()).hexdigest()[:16]}"}
        body = {"name": name, "district": self.district, "kind": kind, "land_use": land_use, "address": f"{name} 1号楼"}
        if division_code:
            body["division_code"] = division_code
        community = self._ok(self.http.post(f"{self.base}/v1/communities", json=body, headers={**self.admin, **key}))
        existing = self.all_items(f"/v1/communities/{community['id']}/workstations", self.admin)
        if not existing:
            codes = [{"code": f"A-{i + 101}"} for i in range(workstations)]
            existing = self._ok(
                self.http.post(f"{self.base}/v1/communities/{community['id']}/workstations", json=codes, headers=self.admin)
            )
        return community["id"], [w["id"] for w in existing]

    def all_items(self, path: str, headers: dict[str, str]) -> list[dict]:
        """Every item of a paginated list (``{items, next_cursor}``), following the cursors."""
        items: list[dict] = []
        params: dict[str, str | int] = {"limit": 200}
        while True:
            page = self._ok(self.http.get(f"{self.base}{path}", params=params, headers=headers))
            items.extend(page["items"])
            if not page["next_cursor"]:
                return items
            params["cursor"] = page["next_cursor"]

    def free_workstation(self, community_id: str) -> str:
        rows = self.all_items(f"/v1/communities/{community_id}/workstations", self.admin)
        free = [w["id"] for w in rows if w["occupant_case_id"] is None]
        if not free:
            added = self._ok(
                self.http.post(
                    f"{self.base}/v1/communities/{community_id}/workstations",
                    json=[{"code": f"B-{uuid.uuid4().hex[:6]}"}],
                    headers=self.admin,
                )
            )
            free = [added[0]["id"]]
        return free[0]

    def open_case(
        self,
        *,
        founder_sub: str,
        name: str,
        founder_name: str,
        community_id: str,
        workstation_id: str,
        lines: list[str],
        documents: bool = True,
        seed: int = 0,
        key: str | None = None,
    ) -> dict:
        founder = token(self.district, "firm", sub=founder_sub)
        form = {
            "founder": {"name": founder_name, "id_number": id_number(seed), "phone": "13800138000", "is_graduate": False},
            "proposed_name": name,
            "business_lines": lines,
            "community_id": community_id,
            "workstation_id": workstation_id,
        }
        if documents:
            form["documents"] = [document(code, founder_sub) for code in BASE_MATERIALS]
        headers = {**founder, **({"Idempotency-Key": key} if key else {})}
        case = self._ok(self.http.post(f"{self.base}/v1/cases", json=form, headers=headers))
        if case["status"] == "draft":
            case = self._ok(
                self.http.post(
                    f"{self.base}/v1/cases/{case['id']}/submit", headers={**founder, "If-Match": f'"{case["version"]}"'}
                )
            )
        return case

    def act(self, case: dict, path: str, body: dict | None = None, headers: dict | None = None) -> dict:
        h = {**(headers or self.caseworker), "If-Match": f'"{case["version"]}"'}
        return self._ok(self.http.post(f"{self.base}/v1/cases/{case['id']}/{path}", json=body or {}, headers=h))

    def supply_all(self, case: dict, founder_sub: str) -> dict:
        founder = token(self.district, "firm", sub=founder_sub)
        for item in case["materials"]:
            if item["status"] == "missing":
                case = self.act(case, f"materials/{item['code']}", supplied(item["code"], founder_sub), headers=founder)
        return case

    def through_licence(self, case: dict) -> dict:
        case = self.act(case, "accept")
        case = self.act(case, "steps/name_check/complete", {"reference": "名称自主申报-001"})
        return self.act(case, "steps/business_licence/complete", {"reference": "营业执照-001"})

    def register_firm(
        self,
        *,
        name: str,
        founder_name: str,
        community_id: str,
        lines: list[str] | None = None,
        founder_sub: str | None = None,
        seed: int = 0,
        key: str | None = None,
    ) -> Registered:
        founder_sub = founder_sub or f"founder-{uuid.uuid4().hex[:10]}"
        case = self.open_case(
            founder_sub=founder_sub,
            name=name,
            founder_name=founder_name,
            community_id=community_id,
            workstation_id=self.free_workstation(community_id),
            lines=lines or ["agent_development"],
            seed=seed,
            key=key,
        )
        if case["status"] in ("awaiting_materials",):
            case = self.supply_all(case, founder_sub)
        if case["status"] == "ready":
            case = self.through_licence(case)
        firm = self._ok(self.http.get(f"{self.base}/v1/firms/{case['firm_id']}", headers=self.caseworker))
        return Registered(case["id"], case["firm_id"], firm["uscc"])
