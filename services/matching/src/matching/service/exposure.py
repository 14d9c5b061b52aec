"""Fair-exposure figures for admins: exposure Gini and the share of active suppliers offered
work in the last 30 days, per district (their own, or every district for city-wide staff)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import func, select

from matching.adapters import tables as t
from matching.domain.exposure import EXPOSURE_WINDOW, OFFER_WINDOW, ExposureReport, report
from opc_shared.auth import Principal
from opc_shared.db import UnitOfWork
from opc_shared.scoping import staff_district


async def figures(uow: UnitOfWork, *, principal: Principal, district: str | None, now: datetime) -> list[ExposureReport]:
    wanted = staff_district(principal, district, roles=("admin",))
    p, e = t.supplier_profiles, t.exposures
    active = select(p.c.firm_id, p.c.district).where(p.c.status == "active", p.c.available)
    if wanted:
        active = active.where(p.c.district == wanted)
    suppliers = (await uow.session.execute(active)).all()
    counts = dict(
        (
            await uow.session.execute(
                select(e.c.firm_id, func.count()).where(e.c.at > now - EXPOSURE_WINDOW, e.c.at <= now).group_by(e.c.firm_id)
            )
        ).all()
    )
    offered: dict[object, list[datetime]] = defaultdict(list)
    rows = await uow.session.execute(select(e.c.firm_id, e.c.at).where(e.c.kind == "offered", e.c.at > now - OFFER_WINDOW))
    for firm_id, at in rows.all():
        offered[firm_id].append(at)
    by_district: dict[str, dict[object, int]] = defaultdict(dict)
    for firm_id, firm_district in suppliers:
        by_district[firm_district][firm_id] = int(counts.get(firm_id, 0))
    out = [report(name, exposures, offered, now) for name, exposures in sorted(by_district.items())]
    if not wanted:
        everyone = {firm: n for exposures in by_district.values() for firm, n in exposures.items()}
        out.insert(0, report(None, everyone, offered, now))
    return out
