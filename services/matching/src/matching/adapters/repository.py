"""Loads and saves matching's aggregates and rows. Never commits: the unit of work does."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from matching.adapters import tables as t
from matching.domain.demand import Demand
from matching.domain.scoring import SupplierFacts
from opc_shared.db import UnitOfWork, Work

_DEMAND_FIELDS = (
    "owner_sub",
    "owner_name",
    "district",
    "title",
    "description",
    "sector",
    "capabilities",
    "budget_min_fen",
    "budget_max_fen",
    "deadline",
    "location_district",
    "team_allowed",
    "status",
    "version",
    "firm_id",
    "dispatch_round",
    "dispatch_fan_out",
    "dispatch_timeout_s",
    "actual_investment_fen",
    "rating",
    "created_at",
    "published_at",
    "completed_at",
)


def _demand_from(row: Any) -> Demand:
    return Demand(
        id=row["id"],
        member_firm_ids=[uuid.UUID(m) for m in row["member_firm_ids"]],
        **{name: row[name] for name in _DEMAND_FIELDS},
    )


def _demand_row(demand: Demand) -> dict[str, Any]:
    row = {name: getattr(demand, name) for name in _DEMAND_FIELDS}
    row["member_firm_ids"] = [str(m) for m in demand.member_firm_ids]
    return row


async def load_demand(uow: UnitOfWork | Work, demand_id: uuid.UUID, *, for_update: bool = False) -> Demand | None:
    query = select(t.demands).where(t.demands.c.id == demand_id)
    if for_update:
        query = query.with_for_update()
    row = (await uow.session.execute(query)).mappings().first()
    return None if row is None else uow.track(_demand_from(row))


async def add_demand(uow: UnitOfWork | Work, demand: Demand) -> None:
    await uow.session.execute(insert(t.demands).values(id=demand.id, **_demand_row(demand)))
    uow.track(demand)


async def save_demand(uow: UnitOfWork | Work, demand: Demand) -> None:
    await uow.session.execute(update(t.demands).where(t.demands.c.id == demand.id).values(**_demand_row(demand)))


async def add_timeline(session: AsyncSession, demand_id: uuid.UUID, at: datetime, kind: str, actor: str, **detail: Any) -> None:
    await session.execute(insert(t.timeline).values(demand_id=demand_id, at=at, kind=kind, actor=actor, detail=detail))


def facts_from(row: Any, exposures: int = 0) -> SupplierFacts:
    return SupplierFacts(
        firm_id=row["firm_id"],
        firm_name=row["firm_name"],
        district=row["district"],
        capabilities=tuple(row["capabilities"]),
        description=row["description"],
        capacity=row["capacity"],
        active_engagements=row["active_engagements"],
        price_min_fen=row["price_min_fen"],
        price_max_fen=row["price_max_fen"],
        rating_sum=row["rating_sum"],
        rating_count=row["rating_count"],
        exposures_90d=exposures,
        matchable=row["status"] == "active" and row["available"],
    )


def profile_changed() -> dict[str, Any]:
    """Columns every profile write sets, so replicas' indexes see the change."""
    return {"version": t.supplier_profiles.c.version + 1, "changed_at": func.clock_timestamp()}


async def change_engagements(session: AsyncSession, firm_ids: list[uuid.UUID], delta: int, rating: int | None = None) -> None:
    """Capacity used by engagements (+1 when matched, −1 when completed or cancelled) and ratings."""
    p = t.supplier_profiles
    values: dict[str, Any] = {"active_engagements": func.greatest(p.c.active_engagements + delta, 0), **profile_changed()}
    if rating is not None:
        values |= {"rating_sum": p.c.rating_sum + rating, "rating_count": p.c.rating_count + 1}
    if firm_ids:
        await session.execute(update(p).where(p.c.firm_id.in_(firm_ids)).values(**values))
