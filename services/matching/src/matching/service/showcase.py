"""Roadshows ("1+N": one demand owner and N matched OPCs) and the yearly selection of
scenario demonstration projects, whose event the subsidy service's ``scenario_demo`` uses."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from matching.adapters import tables as t
from matching.adapters.repository import add_timeline
from matching.domain.catalogue import SECTORS
from matching.domain.demand import COMPLETED
from matching.service.demands import DemandCall, load_for
from matching.service.ranking import IndexHolder
from opc_shared.auth import CITY_WIDE, Principal
from opc_shared.clock import SHANGHAI
from opc_shared.contracts.matching import RoadshowScheduledV1, ScenarioDemoNominatedV1, ScenarioDemoSelectedV1
from opc_shared.db import UnitOfWork
from opc_shared.errors import DomainError, Forbidden, InvalidInput, NotFound
from opc_shared.scoping import is_staff

#: Chengdu's plan (001, 十): "每年遴选不超过 20 个". Other cities add theirs here.
YEARLY_LIMIT = {"chengdu": 20}
ROADSHOW = {"en": "roadshow", "zh-CN": "路演"}


def _staff_of(principal: Principal, district: str) -> None:
    if not (is_staff(principal) and principal.may_see_district(district)):
        raise Forbidden("roadshows are run by the district's community and bureau staff")


async def schedule_roadshow(
    uow: UnitOfWork,
    *,
    principal: Principal,
    now: datetime,
    holder: IndexHolder,
    demand_id: uuid.UUID,
    title: str,
    held_at: datetime,
    n: int,
    firm_ids: list[uuid.UUID] | None,
    agenda: list[dict[str, Any]],
) -> dict:
    demand = await load_for(DemandCall(uow, principal, _Clock(now), demand_id), manage=False)
    _staff_of(principal, demand.district)
    if firm_ids is None:
        index = await holder.fresh(uow.session, now)
        firm_ids = [c.firm_id for c in index.rank(demand.query(), n)]
    if not firm_ids:
        raise DomainError("no_candidates")
    known = set(
        (
            await uow.session.execute(select(t.supplier_profiles.c.firm_id).where(t.supplier_profiles.c.firm_id.in_(firm_ids)))
        ).scalars()
    )
    unknown = [str(f) for f in firm_ids if f not in known]
    if unknown:
        raise InvalidInput([("firm_ids", "unknown_firm", f"not suppliers: {', '.join(unknown)}")])
    row = {
        "id": uuid.uuid4(),
        "district": demand.district,
        "title": title,
        "demand_id": demand.id,
        "firm_ids": [str(f) for f in firm_ids],
        "agenda": agenda,
        "held_at": held_at,
        "created_by": principal.sub,
        "created_at": now,
    }
    await uow.session.execute(insert(t.roadshows).values(**row))
    uow.publish(
        RoadshowScheduledV1(
            roadshow_id=row["id"], district=demand.district, demand_id=demand.id, firm_ids=firm_ids, held_at=held_at
        )
    )
    await add_timeline(uow.session, demand.id, now, "roadshow_scheduled", principal.sub, roadshow_id=str(row["id"]))
    return row


class _Clock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


async def get_roadshow(uow: UnitOfWork, *, principal: Principal, roadshow_id: uuid.UUID) -> dict:
    row = (await uow.session.execute(select(t.roadshows).where(t.roadshows.c.id == roadshow_id))).mappings().first()
    if row is None or not (is_staff(principal) and principal.may_see_district(row["district"])):
        raise NotFound(ROADSHOW, roadshow_id)
    roadshow = dict(row)
    demand = (await uow.session.execute(select(t.demands).where(t.demands.c.id == row["demand_id"]))).mappings().one()
    names = dict(
        (
            await uow.session.execute(
                select(t.supplier_profiles.c.firm_id, t.supplier_profiles.c.firm_name).where(
                    t.supplier_profiles.c.firm_id.in_([uuid.UUID(f) for f in row["firm_ids"]])
                )
            )
        ).all()
    )
    roadshow["demand"] = {"id": demand["id"], "title": demand["title"], "owner_name": demand["owner_name"]}
    roadshow["firms"] = [{"firm_id": f, "firm_name": names.get(uuid.UUID(f), "")} for f in row["firm_ids"]]
    return roadshow


def export_csv(roadshow: dict) -> str:
    """The list and the agenda in one sheet (UTF-8 with BOM so spreadsheet programs read the Chinese)."""
    out = io.StringIO()
    out.write("\ufeff")
    w = csv.writer(out)
    held = roadshow["held_at"].astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    w.writerow(["路演 Roadshow", roadshow["title"], held])
    w.writerow(["需求方 Demand owner", roadshow["demand"]["owner_name"], roadshow["demand"]["title"]])
    w.writerow([])
    w.writerow(["序号 No.", "企业 Firm", "firm_id"])
    for i, firm in enumerate(roadshow["firms"], start=1):
        w.writerow([i, firm["firm_name"], firm["firm_id"]])
    w.writerow([])
    w.writerow(["时间 Time", "议程 Agenda item"])
    for item in roadshow["agenda"]:
        w.writerow([item.get("time", ""), item.get("item", "")])
    return out.getvalue()


async def nominate(call: DemandCall) -> dict:
    """A completed engagement is put forward for the year's scenario demonstration selection."""
    demand = await load_for(call, manage=False, for_update=True)
    p = call.principal
    if not (demand.owner_sub == p.sub or (is_staff(p) and p.may_see_district(demand.district))):
        raise Forbidden("the owner or the district's staff nominate")
    if demand.status != COMPLETED or demand.completed_at is None or demand.firm_id is None:
        raise DomainError("demand_state", {"action": "nominate", "status": demand.status})
    now = call.clock.now()
    row = {
        "id": uuid.uuid4(),
        "demand_id": demand.id,
        "year": demand.completed_at.astimezone(SHANGHAI).year,
        "city": "chengdu",
        "district": demand.district,
        "firm_id": demand.firm_id,
        "status": "nominated",
        "nominated_by": p.sub,
        "nominated_at": now,
    }
    inserted = await call.uow.session.execute(
        pg_insert(t.nominations).values(**row).on_conflict_do_nothing().returning(t.nominations.c.id)
    )
    if inserted.first() is None:
        raise DomainError("conflict", {"reason": "this engagement is already nominated"})
    call.uow.publish(
        ScenarioDemoNominatedV1(
            demand_id=demand.id,
            district=demand.district,
            nomination_id=row["id"],
            firm_id=demand.firm_id,
            year=row["year"],
            actual_investment_fen=demand.actual_investment_fen or 0,
            nominated_at=now,
        )
    )
    await add_timeline(call.uow.session, demand.id, now, "nominated", p.sub, nomination_id=str(row["id"]), year=row["year"])
    return row


async def select_year(
    uow: UnitOfWork, *, principal: Principal, now: datetime, city: str, year: int, nomination_ids: list[uuid.UUID]
) -> list[dict]:
    """City-wide admins select; at most the city's yearly limit, counted under a row lock."""
    if not (principal.has_any("admin") and principal.district == CITY_WIDE):
        raise Forbidden("the yearly selection is made by city-wide admins")
    limit = YEARLY_LIMIT.get(city)
    if limit is None:
        raise InvalidInput([("city", "unknown_city", f"one of {', '.join(YEARLY_LIMIT)}")])
    if len(set(nomination_ids)) != len(nomination_ids):
        raise InvalidInput([("nomination_ids", "duplicate", "each nomination once")])
    await uow.session.execute(pg_insert(t.selection_years).values(city=city, year=year, selected=0).on_conflict_do_nothing())
    taken = (
        await uow.session.execute(
            select(t.selection_years.c.selected)
            .where(t.selection_years.c.city == city, t.selection_years.c.year == year)
            .with_for_update()
        )
    ).scalar_one()
    if taken + len(nomination_ids) > limit:
        raise DomainError("selection_limit", {"city": city, "limit": limit, "taken": taken})
    n, d = t.nominations, t.demands
    rows = (
        (
            await uow.session.execute(
                select(n, d.c.title, d.c.sector, d.c.owner_name, d.c.member_firm_ids, d.c.actual_investment_fen)
                .join(d, d.c.id == n.c.demand_id)
                .where(n.c.id.in_(nomination_ids))
                .with_for_update(of=n)
            )
        )
        .mappings()
        .all()
    )
    by_id = {r["id"]: r for r in rows}
    selected = []
    for nomination_id in nomination_ids:
        r = by_id.get(nomination_id)
        if r is None or r["status"] != "nominated" or r["year"] != year or r["city"] != city:
            raise DomainError(
                "not_nominated",
                {"id": str(nomination_id), "status": r["status"] if r else "unknown", "year": r["year"] if r else year},
            )
        selection_id = uuid.uuid4()
        await uow.session.execute(update(n).where(n.c.id == nomination_id).values(status="selected", selected_at=now))
        uow.publish(
            ScenarioDemoSelectedV1(
                firm_id=r["firm_id"],
                district=r["district"],
                city=city,
                selection_id=selection_id,
                engagement_id=r["demand_id"],
                demand_id=r["demand_id"],
                year=year,
                title=r["title"],
                sector=r["sector"] if r["sector"] in SECTORS else "culture",
                scenario_owner=r["owner_name"],
                member_firm_ids=[uuid.UUID(m) for m in r["member_firm_ids"]],
                actual_investment_fen=r["actual_investment_fen"] or 0,
                selected_at=now,
            )
        )
        await add_timeline(uow.session, r["demand_id"], now, "selected", principal.sub, selection_id=str(selection_id), year=year)
        selected.append(
            {"nomination_id": nomination_id, "selection_id": selection_id, "demand_id": r["demand_id"], "firm_id": r["firm_id"]}
        )
    await uow.session.execute(
        update(t.selection_years)
        .where(t.selection_years.c.city == city, t.selection_years.c.year == year)
        .values(selected=t.selection_years.c.selected + len(selected))
    )
    return selected


async def selections_count(uow: UnitOfWork, city: str, year: int) -> int:
    got = await uow.session.execute(
        select(func.coalesce(func.max(t.selection_years.c.selected), 0)).where(
            t.selection_years.c.city == city, t.selection_years.c.year == year
        )
    )
    return int(got.scalar_one())
