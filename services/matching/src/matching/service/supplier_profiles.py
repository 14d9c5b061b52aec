"""Use cases on supplier profiles. They never commit: the caller's unit of work does."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from matching.adapters import tables as t
from matching.adapters.repository import profile_changed
from matching.domain.supplier_profiles import REGISTRY_STATUS, open_for, validate_profile
from opc_shared.auth import Principal
from opc_shared.concurrency import check_version
from opc_shared.contracts import FirmRegisteredV1
from opc_shared.contracts.registry import CommunityRegisteredV1, FirmStatusChangedV1
from opc_shared.db import UnitOfWork, Work
from opc_shared.errors import Forbidden, NotFound
from opc_shared.pagination import Keyset, Page, PageParams
from opc_shared.scoping import Scope, read_one, readable

table = t.supplier_profiles
RESOURCE = {"en": "supplier profile", "zh-CN": "供给方档案"}
KEYSET = Keyset(table.c.opened_at, table.c.firm_id)
SCOPE = Scope(district=table.c.district, firm=table.c.firm_id)


async def open_for_registered_firm(work: Work, firm: FirmRegisteredV1) -> None:
    await work.session.execute(insert(table).values(**open_for(firm)).on_conflict_do_nothing(index_elements=["firm_id"]))


async def apply_status(work: Work, change: FirmStatusChangedV1) -> None:
    """Suspended or deregistered firms leave matching at once (every replica's next ranking)."""
    await work.session.execute(
        update(table).where(table.c.firm_id == change.firm_id).values(status=REGISTRY_STATUS[change.status], **profile_changed())
    )


async def record_community(work: Work, community: CommunityRegisteredV1) -> None:
    values = {"name": community.name, "district": community.district, "city": community.city}
    await work.session.execute(
        insert(t.communities)
        .values(community_id=community.community_id, **values)
        .on_conflict_do_update(index_elements=["community_id"], set_=values)
    )


_ONE = select(table)


async def get(uow: UnitOfWork, *, principal: Principal, firm_id: uuid.UUID) -> dict:
    return await read_one(uow.session, _ONE, principal, SCOPE, key=table.c.firm_id, id=firm_id, resource=RESOURCE)


async def complete(
    uow: UnitOfWork, *, principal: Principal, firm_id: uuid.UUID, version: int, profile: dict[str, Any], now: datetime
) -> dict:
    """The firm completes or edits its own profile (If-Match on its version)."""
    row = (await uow.session.execute(select(table).where(table.c.firm_id == firm_id).with_for_update())).mappings().first()
    if row is None or not (
        principal.firm_id == str(firm_id) or (principal.has_any("admin") and principal.may_see_district(row["district"]))
    ):
        if (
            row is not None
            and principal.may_see_district(row["district"])
            and principal.has_any("caseworker", "reviewer", "finance")
        ):
            raise Forbidden("a profile is edited by its firm")
        raise NotFound(RESOURCE, firm_id)
    check_version(row["version"], version)
    validate_profile(
        capabilities=profile["capabilities"],
        capacity=profile["capacity"],
        price_min_fen=profile.get("price_min_fen"),
        price_max_fen=profile.get("price_max_fen"),
    )
    values = {**profile, "completed_at": row["completed_at"] or now, **profile_changed()}
    updated = await uow.session.execute(update(table).where(table.c.firm_id == firm_id).values(**values).returning(table))
    return dict(updated.mappings().one())


async def list_for(uow: UnitOfWork, *, principal: Principal, district: str | None, page: PageParams) -> Page:
    return await KEYSET.fetch(uow.session, readable(select(table), principal, SCOPE, district=district), page)
