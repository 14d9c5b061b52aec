"""Use cases on demands: post, publish, read, rank, propose a team, run the engagement.

They never commit: the request's (or job's) unit of work does, with the events the
``Demand`` aggregate recorded."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from matching.adapters import tables as t
from matching.adapters.repository import add_demand, add_timeline, change_engagements, load_demand, save_demand
from matching.domain.catalogue import LEAD_CAPABILITY
from matching.domain.demand import DRAFT, OPEN, Demand, validate_terms
from matching.domain.index import SupplierIndex
from matching.domain.scoring import Candidate
from matching.domain.teams import Team, TeamCandidate, form
from matching.service.ranking import IndexHolder
from opc_shared.auth import Principal
from opc_shared.clock import Clock
from opc_shared.concurrency import check_version
from opc_shared.db import UnitOfWork, Work, dicts
from opc_shared.errors import DomainError, Forbidden, InvalidInput, NotFound
from opc_shared.pagination import Keyset, Page, PageParams
from opc_shared.scoping import check_district_param, in_district, is_staff

RESOURCE = {"en": "demand", "zh-CN": "需求"}
KEYSET = Keyset(t.demands.c.created_at, t.demands.c.id)
TEAM_POOL = 300  # candidates handed to team formation: the top of the ranking


@dataclass
class DemandCall:
    """What every action on one demand needs (like the registry's CaseCall)."""

    uow: UnitOfWork | Work
    principal: Principal
    clock: Clock
    demand_id: uuid.UUID
    version: int | None = None


def may_manage(principal: Principal, demand: Demand) -> bool:
    """The owner, or an admin of the demand's district."""
    if principal.sub == demand.owner_sub and principal.has_any("scenario_owner", "admin"):
        return True
    return principal.has_any("admin") and principal.may_see_district(demand.district)


def may_read(principal: Principal, demand: Demand, offered_firms: set[str] = frozenset()) -> bool:
    if may_manage(principal, demand):
        return True
    if is_staff(principal) and principal.may_see_district(demand.district):
        return True
    if "firm" in principal.roles and principal.firm_id:
        return demand.status == OPEN or principal.firm_id in offered_firms or principal.firm_id == str(demand.firm_id)
    return False


async def _offered_firms(uow: UnitOfWork | Work, demand_id: uuid.UUID) -> set[str]:
    rows = await uow.session.execute(select(t.offers.c.firm_id).where(t.offers.c.demand_id == demand_id))
    return {str(f) for f in rows.scalars()}


async def load_for(call: DemandCall, *, manage: bool, for_update: bool = False) -> Demand:
    demand = await load_demand(call.uow, call.demand_id, for_update=for_update)
    if demand is None:
        raise NotFound(RESOURCE, call.demand_id)
    offered = await _offered_firms(call.uow, demand.id) if "firm" in call.principal.roles else set()
    if not may_read(call.principal, demand, offered):
        raise NotFound(RESOURCE, call.demand_id)
    if manage and not may_manage(call.principal, demand):
        raise Forbidden("only the demand's owner or an admin of its district may do this")
    if call.version is not None:
        check_version(demand.version, call.version)
    return demand


async def create(uow: UnitOfWork | Work, *, principal: Principal, clock: Clock, form_: dict[str, Any]) -> Demand:
    if not principal.has_any("scenario_owner", "admin"):
        raise Forbidden("demands are posted by scenario owners")
    validate_terms(
        sector=form_["sector"],
        capabilities=form_["capabilities"],
        budget_min_fen=form_.get("budget_min_fen"),
        budget_max_fen=form_.get("budget_max_fen"),
        location_district=form_.get("location_district"),
    )
    now = clock.now()
    publish = form_.pop("publish", True)
    demand = Demand(id=uuid.uuid4(), owner_sub=principal.sub, district=principal.district, status=DRAFT, created_at=now, **form_)
    if publish:
        demand.publish(now)
    await add_demand(uow, demand)
    await add_timeline(uow.session, demand.id, now, "created", principal.sub, status=demand.status)
    return demand


async def publish(call: DemandCall) -> Demand:
    demand = await load_for(call, manage=True, for_update=True)
    demand.publish(call.clock.now())
    await save_demand(call.uow, demand)
    await add_timeline(call.uow.session, demand.id, call.clock.now(), "published", call.principal.sub)
    return demand


async def start(call: DemandCall) -> Demand:
    demand = await load_for(call, manage=True, for_update=True)
    demand.start(call.clock.now())
    await save_demand(call.uow, demand)
    await add_timeline(call.uow.session, demand.id, call.clock.now(), "started", call.principal.sub)
    return demand


async def complete(call: DemandCall, *, actual_investment_fen: int, rating: int) -> Demand:
    demand = await load_for(call, manage=True, for_update=True)
    demand.complete(call.clock.now(), actual_investment_fen=actual_investment_fen, rating=rating)
    await save_demand(call.uow, demand)
    await change_engagements(call.uow.session, [demand.firm_id, *demand.member_firm_ids], -1, rating=rating)
    await add_timeline(
        call.uow.session,
        demand.id,
        call.clock.now(),
        "completed",
        call.principal.sub,
        actual_investment_fen=actual_investment_fen,
        rating=rating,
    )
    return demand


async def cancel(call: DemandCall) -> Demand:
    from matching.service.dispatch import withdraw_pending  # dispatch imports this module

    demand = await load_for(call, manage=True, for_update=True)
    engaged = demand.firm_id is not None
    demand.cancel(call.clock.now())
    await save_demand(call.uow, demand)
    if engaged:
        await change_engagements(call.uow.session, [demand.firm_id, *demand.member_firm_ids], -1)
    await withdraw_pending(call.uow, demand, call.clock.now(), reason="cancelled")
    await add_timeline(call.uow.session, demand.id, call.clock.now(), "cancelled", call.principal.sub)
    return demand


async def get(call: DemandCall) -> Demand:
    return await load_for(call, manage=False)


async def list_for(uow: UnitOfWork, *, principal: Principal, status: str | None, district: str | None, page: PageParams) -> Page:
    """Owners: their demands; staff: their district's; firms: the open demand list (city-wide)."""
    d = t.demands
    query = select(d)
    check_district_param(principal, district)
    if is_staff(principal):
        query = in_district(query, principal, d.c.district, district=district)
    elif principal.has_any("scenario_owner"):
        query = query.where(d.c.owner_sub == principal.sub)
    elif "firm" in principal.roles:
        query = query.where(d.c.status == OPEN)
        if district:
            query = query.where(d.c.district == district)
    else:
        raise Forbidden("demand lists are for scenario owners, staff and firms")
    if status:
        query = query.where(d.c.status == status)
    return await KEYSET.fetch(uow.session, query, page)


async def timeline(call: DemandCall) -> list[dict]:
    await load_for(call, manage=False)
    rows = await call.uow.session.execute(
        select(t.timeline).where(t.timeline.c.demand_id == call.demand_id).order_by(t.timeline.c.id)
    )
    return dicts(rows)


async def record_shown(
    uow: UnitOfWork | Work, demand: Demand, index: SupplierIndex, candidates: list[Candidate], now: datetime
) -> None:
    """Each supplier counts as shown once per demand (the fairness term reads these)."""
    rows = []
    for c in candidates:
        facts = index.facts(c.firm_id)
        rows.append(
            {
                "firm_id": c.firm_id,
                "demand_id": demand.id,
                "kind": "shown",
                "district": facts.district if facts else "",
                "at": now,
            }
        )
    if rows:
        await uow.session.execute(insert(t.exposures).values(rows).on_conflict_do_nothing())


async def candidates(call: DemandCall, holder: IndexHolder, limit: int) -> list[Candidate]:
    demand = await load_for(call, manage=False)
    if not (
        may_manage(call.principal, demand) or (is_staff(call.principal) and call.principal.may_see_district(demand.district))
    ):
        raise Forbidden("candidates are for the demand's owner and its district's staff")
    now = call.clock.now()
    index = await holder.fresh(call.uow.session, now)
    ranked = index.rank(demand.query(), limit)
    await record_shown(call.uow, demand, index, ranked, now)
    return ranked


async def team(call: DemandCall, holder: IndexHolder, max_size: int = 5) -> Team:
    demand = await load_for(call, manage=False)
    if not (
        may_manage(call.principal, demand) or (is_staff(call.principal) and call.principal.may_see_district(demand.district))
    ):
        raise Forbidden("teams are proposed to the demand's owner and its district's staff")
    index = await holder.fresh(call.uow.session, call.clock.now())
    pool = []
    query = demand.query()
    # Pure "project manager" firms cover none of the work but may lead: rank them in too.
    query = replace(query, capabilities={LEAD_CAPABILITY: 1, **query.capabilities})
    for c in index.rank(query, TEAM_POOL):
        facts = index.facts(c.firm_id)
        assert facts is not None
        pool.append(
            TeamCandidate(
                firm_id=c.firm_id,
                capabilities=frozenset(facts.capabilities),
                score=c.score,
                price_min_fen=facts.price_min_fen or 0,
                can_lead=LEAD_CAPABILITY in facts.capabilities,
            )
        )
    proposed = form(pool, demand.capabilities, budget_fen=demand.budget_max_fen, max_size=max_size, time_limit_s=5.0)
    if proposed is None:
        raise DomainError("no_team", {"max_size": max_size})
    return proposed


async def award_team(call: DemandCall, *, lead: uuid.UUID, members: list[uuid.UUID]) -> Demand:
    """The owner gives the demand to a team (a lead and its partners), when the demand allows teams."""
    from matching.service.dispatch import withdraw_pending  # dispatch imports this module

    demand = await load_for(call, manage=True, for_update=True)
    if not demand.team_allowed:
        raise DomainError("demand_state", {"action": "award_team (the demand does not allow teams)", "status": demand.status})
    firms = [lead, *members]
    if len(set(firms)) != len(firms) or len(firms) > 5:
        raise InvalidInput([("member_firm_ids", "value_error", "up to four partners besides the lead, each once")])
    p = t.supplier_profiles
    rows = await call.uow.session.execute(
        select(p.c.firm_id).where(
            p.c.firm_id.in_(firms), p.c.status == "active", p.c.available, p.c.active_engagements < p.c.capacity
        )
    )
    ready = set(rows.scalars())
    missing = [str(f) for f in firms if f not in ready]
    if missing:
        raise InvalidInput(
            [("member_firm_ids", "not_matchable", f"not active suppliers with capacity left: {', '.join(missing)}")]
        )
    now = call.clock.now()
    demand.match(lead, now, members)
    await save_demand(call.uow, demand)
    await change_engagements(call.uow.session, firms, +1)
    await withdraw_pending(call.uow, demand, now, reason="taken")
    await add_timeline(
        call.uow.session, demand.id, now, "team_awarded", call.principal.sub, lead=str(lead), members=[str(m) for m in members]
    )
    return demand
