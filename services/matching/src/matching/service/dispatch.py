"""Dispatch ("film-industry Didi"): an order offered to the best few suppliers at once.

The first acceptance wins even with several replicas: every accept locks the demand row
(``SELECT … FOR UPDATE``) before looking at it, so concurrent accepts queue on the database
and only the first finds the demand still open; the others get ``demand_taken``. Locks are
always taken demand first, offers second (accept, decline, the expiry job), so two of them
cannot deadlock. Offers not answered by their deadline expire in a job that takes the
clock; when no offer of a demand is pending any more, the next suppliers in the ranking are
offered it. Every offer, acceptance, decline, expiry and withdrawal is an event and a line
on the demand's timeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import datetime, timedelta

import structlog
from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert

from matching.adapters import tables as t
from matching.adapters.repository import add_timeline, change_engagements, load_demand, save_demand
from matching.domain.demand import OPEN, Demand, DemandStateError
from matching.service.demands import DemandCall, load_for
from matching.service.ranking import IndexHolder
from opc_shared.auth import Principal
from opc_shared.clock import Clock
from opc_shared.contracts.matching import (
    OfferAcceptedV1,
    OfferDeclinedV1,
    OfferExpiredV1,
    OfferMadeV1,
    OfferWithdrawnV1,
)
from opc_shared.db import Database, UnitOfWork, Work, dicts
from opc_shared.errors import DomainError, InvalidInput, NotFound
from opc_shared.times import rfc3339

log = structlog.get_logger("matching.dispatch")
OFFER_RESOURCE = {"en": "offer", "zh-CN": "邀约"}
MAX_FAN_OUT = 10


async def _pending(uow: UnitOfWork | Work, demand_id: uuid.UUID) -> int:
    o = t.offers
    return (
        await uow.session.execute(select(func.count()).where(o.c.demand_id == demand_id, o.c.status == "offered"))
    ).scalar_one()


async def offer_round(uow: UnitOfWork | Work, demand: Demand, holder: IndexHolder, now: datetime, actor: str) -> list[dict]:
    """Offer the demand to the next ``fan_out`` suppliers not offered before; [] when none is left."""
    o = t.offers
    already = set((await uow.session.execute(select(o.c.firm_id).where(o.c.demand_id == demand.id))).scalars())
    index = await holder.fresh(uow.session, now)
    ranked = index.rank(demand.query(exclude=frozenset(already)), demand.dispatch_fan_out)
    if not ranked:
        await add_timeline(uow.session, demand.id, now, "dispatch_exhausted", actor, round=demand.dispatch_round)
        return []
    demand.dispatch_round += 1
    expires = now + timedelta(seconds=demand.dispatch_timeout_s)
    made = []
    for rank, c in enumerate(ranked, start=1):
        offer_id = uuid.uuid4()
        row = {
            "id": offer_id,
            "demand_id": demand.id,
            "firm_id": c.firm_id,
            "round": demand.dispatch_round,
            "rank": rank,
            "score": f"{c.score:.4f}",
            "status": "offered",
            "offered_at": now,
            "expires_at": expires,
        }
        await uow.session.execute(insert(o).values(**row))
        facts = index.facts(c.firm_id)
        await uow.session.execute(
            insert(t.exposures)
            .values(firm_id=c.firm_id, demand_id=demand.id, kind="offered", district=facts.district if facts else "", at=now)
            .on_conflict_do_nothing()
        )
        uow.publish(
            OfferMadeV1(
                demand_id=demand.id,
                district=demand.district,
                offer_id=offer_id,
                firm_id=c.firm_id,
                round=demand.dispatch_round,
                rank=rank,
                score=c.score,
                offered_at=now,
                expires_at=expires,
            )
        )
        await add_timeline(
            uow.session,
            demand.id,
            now,
            "offer_made",
            actor,
            offer_id=str(offer_id),
            firm_id=str(c.firm_id),
            round=demand.dispatch_round,
            rank=rank,
            expires_at=rfc3339(expires),
            explanation=c.explanation,
        )
        made.append(row)
    await save_demand(uow, demand)
    return made


async def dispatch(call: DemandCall, holder: IndexHolder, *, fan_out: int, timeout_s: int) -> list[dict]:
    """The owner sends the order out: offers to the top ``fan_out`` at once."""
    if not 1 <= fan_out <= MAX_FAN_OUT:
        raise InvalidInput([("fan_out", "value_error", f"1 to {MAX_FAN_OUT} suppliers at once")])
    demand = await load_for(call, manage=True, for_update=True)
    if demand.status != OPEN:
        raise DemandStateError("dispatch", demand.status)
    if await _pending(call.uow, demand.id):
        raise DomainError("conflict", {"reason": "offers of this demand are still waiting for an answer"})
    demand.dispatch_fan_out, demand.dispatch_timeout_s = fan_out, timeout_s
    demand.version += 1
    made = await offer_round(call.uow, demand, holder, call.clock.now(), call.principal.sub)
    if not made:
        raise DomainError("no_candidates")
    return made


async def _load_offer(uow: UnitOfWork | Work, principal: Principal, offer_id: uuid.UUID) -> dict:
    row = (await uow.session.execute(select(t.offers).where(t.offers.c.id == offer_id))).mappings().first()
    if row is None or principal.firm_id != str(row["firm_id"]):
        raise NotFound(OFFER_RESOURCE, offer_id)
    return dict(row)


async def accept(uow: UnitOfWork | Work, *, principal: Principal, clock: Clock, offer_id: uuid.UUID, holder: IndexHolder) -> dict:
    offer = await _load_offer(uow, principal, offer_id)
    demand = await load_demand(uow, offer["demand_id"], for_update=True)  # the line every accept queues in
    assert demand is not None
    now = clock.now()
    current = (await uow.session.execute(select(t.offers).where(t.offers.c.id == offer_id))).mappings().one()
    if demand.firm_id is not None:
        raise DomainError("demand_taken")
    if demand.status != OPEN:
        raise DomainError("offer_closed", {"status": current["status"]})
    if current["status"] != "offered" or current["expires_at"] <= now:
        raise DomainError("offer_closed", {"status": "expired" if current["status"] == "offered" else current["status"]})
    await uow.session.execute(update(t.offers).where(t.offers.c.id == offer_id).values(status="accepted", answered_at=now))
    demand.match(offer["firm_id"], now)
    await save_demand(uow, demand)
    await change_engagements(uow.session, [offer["firm_id"]], +1)
    uow.publish(
        OfferAcceptedV1(
            demand_id=demand.id,
            district=demand.district,
            offer_id=offer_id,
            firm_id=offer["firm_id"],
            round=offer["round"],
            accepted_at=now,
        )
    )
    await add_timeline(
        uow.session, demand.id, now, "offer_accepted", principal.sub, offer_id=str(offer_id), firm_id=str(offer["firm_id"])
    )
    await withdraw_pending(uow, demand, now, reason="taken")
    return {**offer, "status": "accepted", "answered_at": now}


async def withdraw_pending(uow: UnitOfWork | Work, demand: Demand, now: datetime, *, reason: str) -> None:
    """Tell every supplier still holding an offer that the order is gone (taken or cancelled)."""
    o = t.offers
    rows = await uow.session.execute(
        update(o)
        .where(o.c.demand_id == demand.id, o.c.status == "offered")
        .values(status="withdrawn", answered_at=now, reason=reason)
        .returning(o.c.id, o.c.firm_id, o.c.round)
    )
    for offer_id, firm_id, round_no in rows.all():
        uow.publish(
            OfferWithdrawnV1(
                demand_id=demand.id,
                district=demand.district,
                offer_id=offer_id,
                firm_id=firm_id,
                round=round_no,
                reason=reason,
                withdrawn_at=now,
            )
        )
        await add_timeline(
            uow.session, demand.id, now, "offer_withdrawn", "system", offer_id=str(offer_id), firm_id=str(firm_id), reason=reason
        )


async def decline(
    uow: UnitOfWork | Work, *, principal: Principal, clock: Clock, offer_id: uuid.UUID, reason: str | None, holder: IndexHolder
) -> dict:
    offer = await _load_offer(uow, principal, offer_id)
    demand = await load_demand(uow, offer["demand_id"], for_update=True)
    assert demand is not None
    now = clock.now()
    done = await uow.session.execute(
        update(t.offers)
        .where(t.offers.c.id == offer_id, t.offers.c.status == "offered", t.offers.c.expires_at > now)
        .values(status="declined", answered_at=now, reason=reason)
        .returning(t.offers.c.id)
    )
    if done.first() is None:
        current = (await uow.session.execute(select(t.offers.c.status).where(t.offers.c.id == offer_id))).scalar_one()
        raise DomainError("offer_closed", {"status": "expired" if current == "offered" else current})
    uow.publish(
        OfferDeclinedV1(
            demand_id=demand.id,
            district=demand.district,
            offer_id=offer_id,
            firm_id=offer["firm_id"],
            round=offer["round"],
            reason=reason,
            declined_at=now,
        )
    )
    await add_timeline(uow.session, demand.id, now, "offer_declined", principal.sub, offer_id=str(offer_id), reason=reason)
    if demand.status == OPEN and not await _pending(uow, demand.id):
        await offer_round(uow, demand, holder, now, "system")
    return {**offer, "status": "declined", "answered_at": now, "reason": reason}


async def expire_due(uow: UnitOfWork | Work, holder: IndexHolder, now: datetime, batch: int = 100) -> int:
    """Expire unanswered offers and re-offer their demands; returns the offers expired.

    Demands are locked first with SKIP LOCKED, so two replicas running the job split the work."""
    o, d = t.offers, t.demands
    due = exists().where(o.c.demand_id == d.c.id, o.c.status == "offered", o.c.expires_at <= now)
    ids = (await uow.session.execute(select(d.c.id).where(due).limit(batch).with_for_update(skip_locked=True))).scalars().all()
    expired = 0
    for demand_id in ids:
        demand = await load_demand(uow, demand_id)
        assert demand is not None
        rows = await uow.session.execute(
            update(o)
            .where(and_(o.c.demand_id == demand_id, o.c.status == "offered", o.c.expires_at <= now))
            .values(status="expired", answered_at=now)
            .returning(o.c.id, o.c.firm_id, o.c.round)
        )
        for offer_id, firm_id, round_no in rows.all():
            expired += 1
            uow.publish(
                OfferExpiredV1(
                    demand_id=demand_id,
                    district=demand.district,
                    offer_id=offer_id,
                    firm_id=firm_id,
                    round=round_no,
                    expired_at=now,
                )
            )
            await add_timeline(
                uow.session, demand_id, now, "offer_expired", "system", offer_id=str(offer_id), firm_id=str(firm_id)
            )
        if demand.status == OPEN and not await _pending(uow, demand_id):
            await offer_round(uow, demand, holder, now, "system")
    return expired


def expiry_job(interval_s: float = 5.0):
    """The periodic job: ``job(db, stop, clock)`` as ServiceSpec.jobs wants it."""
    holder = IndexHolder()

    async def job(db: Database, stop: asyncio.Event, clock: Clock) -> None:
        while not stop.is_set():
            try:
                async with db.uow() as uow:
                    if await expire_due(uow, holder, clock.now()):
                        await uow.commit()
            except Exception:
                log.exception("dispatch.expiry_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)

    return job


async def offers_for_firm(uow: UnitOfWork, principal: Principal, firm_id: uuid.UUID, status: str | None) -> list[dict]:
    if principal.firm_id != str(firm_id):
        raise NotFound({"en": "firm", "zh-CN": "企业"}, firm_id)
    query = select(t.offers, t.demands.c.title, t.demands.c.district).join(t.demands, t.demands.c.id == t.offers.c.demand_id)
    query = query.where(t.offers.c.firm_id == firm_id).order_by(t.offers.c.offered_at.desc()).limit(200)
    if status:
        query = query.where(t.offers.c.status == status)
    return dicts(await uow.session.execute(query))
