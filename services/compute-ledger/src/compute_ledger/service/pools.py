"""Community pools: bought centrally, allocated to member firms, drawn down by usage, settled exactly.

The community's invoice for the pool (its operator is the buyer, no usage records billed) is its
cost; settlement attributes that cost to firms by what they drew (``domain/pools.py``) and tells
subsidy each firm's share (``PoolSettlementAttributedV1``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, select, text, update

from compute_ledger.adapters.tables import firm_accounts, pool_allocations, pool_attributions, pool_settlements, pools
from compute_ledger.domain.invoices import CATEGORY_OF_KIND
from compute_ledger.domain.periods import month_of
from compute_ledger.domain.pools import settle, unsettled
from compute_ledger.domain.usage import pool_units
from opc_shared.auth import Principal
from opc_shared.contracts.ledger import PoolSettlementAttributedV1
from opc_shared.db import UnitOfWork
from opc_shared.errors import DomainError, Forbidden, InvalidInput, NotFound

POOL = {"en": "pool", "zh-CN": "资源池"}


def _refuse(reason: str) -> DomainError:
    return DomainError("pool_refused", {"reason": reason})


async def _community(uow: UnitOfWork, community_id: UUID) -> dict:
    row = (
        (await uow.session.execute(text("SELECT * FROM ledger.communities WHERE community_id = :c"), {"c": community_id}))
        .mappings()
        .first()
    )
    if row is None:
        raise InvalidInput([("community_id", "value_error", "no community with this id has been registered")])
    return dict(row)


def _may_operate(principal: Principal, district: str) -> None:
    """The community's operator acts through its district's admin (or city-wide admin)."""
    if not (principal.has_any("admin") and principal.may_see_district(district)):
        raise Forbidden("only the community's district admin operates its pools")


async def create(uow: UnitOfWork, principal: Principal, body: dict, now: datetime) -> dict:
    community = await _community(uow, body["community_id"])
    _may_operate(principal, community["district"])
    vendor = (
        await uow.session.execute(text("SELECT 1 FROM ledger.vendors WHERE vendor_id = :v"), {"v": body["vendor_id"]})
    ).first()
    if vendor is None:
        raise InvalidInput([("vendor_id", "value_error", "no such vendor")])
    pool_id = uuid.uuid4()
    await uow.session.execute(
        pools.insert().values(
            pool_id=pool_id,
            community_id=body["community_id"],
            vendor_id=body["vendor_id"],
            kind=body["kind"],
            quantity=body["quantity"],
            price_fen=body["price_fen"],
            invoice_number=None,
            created_at=now,
            settled_units=0,
            settled_fen=0,
            settled_tax_fen=0,
        )
    )
    if body.get("invoice_number"):
        await attach_invoice(uow, principal, pool_id, body["invoice_number"])
    return await get(uow, principal, pool_id)


async def _pool(uow: UnitOfWork, pool_id: UUID, *, lock: bool = False) -> dict:
    query = select(pools).where(pools.c.pool_id == pool_id)
    row = (await uow.session.execute(query.with_for_update() if lock else query)).mappings().first()
    if row is None:
        raise NotFound(POOL, pool_id)
    return dict(row)


async def _invoice_cost(uow: UnitOfWork, pool: dict, community: dict) -> dict | None:
    """The community's recorded invoice for the pool: its number, date, cost and tax net of reversals."""
    if not pool["invoice_number"]:
        return None
    row = (
        (
            await uow.session.execute(
                text("""
            SELECT i.number, i.issued_on, i.status,
                   sum(l.amount_fen + l.tax_fen - l.reversed_amount_fen - l.reversed_tax_fen) AS cost_fen,
                   sum(l.tax_fen - l.reversed_tax_fen) AS tax_fen
            FROM ledger.invoices i JOIN ledger.invoice_lines l ON l.invoice_id = i.invoice_id
            WHERE i.number = :n AND i.vendor_id = :v AND i.buyer_uscc = :b AND i.kind = 'blue'
              AND i.status IN ('recorded', 'reversed') AND l.category = :category
            GROUP BY i.number, i.issued_on, i.status
            """),
                {
                    "n": pool["invoice_number"],
                    "v": pool["vendor_id"],
                    "b": community["operator_uscc"],
                    "category": CATEGORY_OF_KIND[pool["kind"]],
                },
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def attach_invoice(uow: UnitOfWork, principal: Principal, pool_id: UUID, number: str) -> None:
    pool = await _pool(uow, pool_id, lock=True)
    community = await _community(uow, pool["community_id"])
    _may_operate(principal, community["district"])
    await uow.session.execute(update(pools).where(pools.c.pool_id == pool_id).values(invoice_number=number))
    if await _invoice_cost(uow, {**pool, "invoice_number": number}, community) is None:
        raise _refuse(f"no recorded invoice {number} from the pool's vendor to the community's operator for {pool['kind']}")


async def get(uow: UnitOfWork, principal: Principal, pool_id: UUID) -> dict:
    pool = await _pool(uow, pool_id)
    community = await _community(uow, pool["community_id"])
    if not (
        principal.has_any("finance", "admin", "caseworker", "reviewer") and principal.may_see_district(community["district"])
    ):
        raise NotFound(POOL, pool_id)
    allocations = (
        await uow.session.execute(
            select(pool_allocations).where(pool_allocations.c.pool_id == pool_id).order_by(pool_allocations.c.firm_id)
        )
    ).mappings()
    cost = await _invoice_cost(uow, pool, community)
    return {
        **pool,
        "id": pool["pool_id"],
        "allocations": [dict(a) for a in allocations],
        "invoiced_cost_fen": cost["cost_fen"] if cost else None,
    }


async def allocate(uow: UnitOfWork, principal: Principal, pool_id: UUID, firm_id: UUID, quota: int) -> dict:
    """Sets a member firm's quota; never below what it drew, never more than the pool in total."""
    pool = await _pool(uow, pool_id, lock=True)
    community = await _community(uow, pool["community_id"])
    _may_operate(principal, community["district"])
    member = (
        await uow.session.execute(select(firm_accounts.c.community_id).where(firm_accounts.c.firm_id == firm_id))
    ).scalar_one_or_none()
    if member != pool["community_id"]:
        raise _refuse("the firm is not a member of the pool's community")
    current = (
        (
            await uow.session.execute(
                select(pool_allocations).where(pool_allocations.c.pool_id == pool_id, pool_allocations.c.firm_id == firm_id)
            )
        )
        .mappings()
        .first()
    )
    drawn = current["drawn"] if current else 0
    if quota < drawn:
        raise _refuse(f"the firm already drew {drawn}; its quota cannot be lower")
    others = (
        await uow.session.execute(
            select(func.coalesce(func.sum(pool_allocations.c.quota), 0)).where(
                pool_allocations.c.pool_id == pool_id, pool_allocations.c.firm_id != firm_id
            )
        )
    ).scalar_one()
    if others + quota > pool["quantity"]:
        raise _refuse(f"only {pool['quantity'] - others} of the pool is unallocated")
    if current:
        await uow.session.execute(
            update(pool_allocations)
            .where(pool_allocations.c.pool_id == pool_id, pool_allocations.c.firm_id == firm_id)
            .values(quota=quota)
        )
    else:
        over = await _drawn_without_allocation(uow, pool_id, firm_id)
        await uow.session.execute(
            pool_allocations.insert().values(
                pool_id=pool_id, firm_id=firm_id, quota=quota, drawn=0, over_quota=over, settled_drawn=0
            )
        )
    return await get(uow, principal, pool_id)


async def _drawn_without_allocation(uow: UnitOfWork, pool_id: UUID, firm_id: UUID) -> int:
    """Units of the firm's latest records in the pool from before it had an allocation: all over quota.

    A new allocation starts with them, so its counters always equal the sums over the latest versions
    and a restatement of such a record gives back exactly what was counted. The pool row is locked
    (ingest holds it ``KEY SHARE`` while it draws), so no batch adds to these records meanwhile."""
    rows = await uow.session.execute(
        text(
            "SELECT u.kind, sum(u.gpu_seconds) AS g, sum(u.input_tokens) AS i, sum(u.cached_input_tokens) AS c, "
            "sum(u.output_tokens) AS o FROM ledger.usage u JOIN ledger.firm_accounts f ON f.uscc = u.buyer_uscc "
            "WHERE f.firm_id = :firm AND (u.firm_id = :firm OR u.firm_id IS NULL) AND u.pool_id = :pool "
            "AND u.superseded_by IS NULL AND u.over_quota GROUP BY u.kind"
        ),
        {"firm": firm_id, "pool": pool_id},
    )
    return sum(pool_units(r.kind, r.g, r.i, r.c, r.o) for r in rows.all())


async def transfer(uow: UnitOfWork, principal: Principal, pool_id: UUID, source: UUID, target: UUID, units: int) -> dict:
    """Moves unused quota from one member firm to another."""
    pool = await _pool(uow, pool_id, lock=True)
    community = await _community(uow, pool["community_id"])
    _may_operate(principal, community["district"])
    rows = {
        r["firm_id"]: r
        for r in (
            await uow.session.execute(
                select(pool_allocations).where(
                    pool_allocations.c.pool_id == pool_id, pool_allocations.c.firm_id.in_((source, target))
                )
            )
        ).mappings()
    }
    if source not in rows or target not in rows:
        raise _refuse("both firms need an allocation in this pool")
    unused = rows[source]["quota"] - rows[source]["drawn"]
    if units > unused:
        raise _refuse(f"the source firm has {unused} unused")
    for firm_id, delta in ((source, -units), (target, units)):
        await uow.session.execute(
            update(pool_allocations)
            .where(pool_allocations.c.pool_id == pool_id, pool_allocations.c.firm_id == firm_id)
            .values(quota=pool_allocations.c.quota + delta)
        )
    return await get(uow, principal, pool_id)


async def settle_pool(
    uow: UnitOfWork, pool_id: UUID, *, period: str | None, now: datetime, principal: Principal | None = None, once: bool = False
) -> dict | None:
    """Attributes the invoiced cost of what firms drew since the last settlement; one event per firm.

    ``once``: the monthly job's settlement, skipped (None) if the period is settled already."""
    pool = await _pool(uow, pool_id, lock=True)
    if once:
        settled = await uow.session.execute(
            select(pool_settlements.c.settlement_id).where(
                pool_settlements.c.pool_id == pool_id, pool_settlements.c.period == period
            )
        )
        if settled.first() is not None:
            return None
    community = await _community(uow, pool["community_id"])
    if principal is not None:
        _may_operate(principal, community["district"])
    cost = await _invoice_cost(uow, pool, community)
    if cost is None:
        raise _refuse("the pool has no recorded invoice: no invoice, no settlement")
    if cost["status"] == "reversed":
        raise _refuse(f"the pool's invoice {cost['number']} is fully reversed: no invoice, no settlement")
    allocations = (
        (
            await uow.session.execute(
                select(pool_allocations, firm_accounts.c.district)
                .join(firm_accounts, firm_accounts.c.firm_id == pool_allocations.c.firm_id)
                .where(pool_allocations.c.pool_id == pool_id)
                .with_for_update(of=pool_allocations)
            )
        )
        .mappings()
        .all()
    )
    draws = {a["firm_id"]: units for a in allocations if (units := unsettled(a["drawn"], a["settled_drawn"]))}
    result = settle(
        cost_fen=cost["cost_fen"],
        tax_fen=cost["tax_fen"],
        quantity=pool["quantity"],
        settled_units=pool["settled_units"],
        settled_fen=pool["settled_fen"],
        settled_tax_fen=pool["settled_tax_fen"],
        draws=draws,
    )
    period = period or month_of(now)
    settlement_id = uuid.uuid4()
    category = CATEGORY_OF_KIND[pool["kind"]]
    await uow.session.execute(
        pool_settlements.insert().values(
            settlement_id=settlement_id, pool_id=pool_id, period=period, units=result.units, total_fen=result.total_fen,
            tax_fen=result.tax_fen, settled_at=now,
        )
    )  # fmt: skip
    district = {a["firm_id"]: a["district"] for a in allocations}
    for firm_id, share in sorted(result.shares.items(), key=lambda kv: str(kv[0])):
        await uow.session.execute(
            pool_attributions.insert().values(
                settlement_id=settlement_id, firm_id=firm_id, period=period, category=category, units=share.units,
                amount_fen=share.amount_fen, tax_fen=share.tax_fen, total_fen=share.total_fen,
            )
        )  # fmt: skip
        uow.publish(
            PoolSettlementAttributedV1(
                firm_id=firm_id,
                district=district[firm_id],
                settlement_id=settlement_id,
                pool_id=pool_id,
                community_id=pool["community_id"],
                vendor_id=pool["vendor_id"],
                period=period,
                category=category,
                invoice_number=cost["number"],
                issued_on=cost["issued_on"],
                amount_fen=share.amount_fen,
                tax_fen=share.tax_fen,
                total_fen=share.total_fen,
                settled_at=now,
            )
        )
    await uow.session.execute(
        update(pool_allocations)
        .where(pool_allocations.c.pool_id == pool_id)
        .values(settled_drawn=func.greatest(pool_allocations.c.settled_drawn, pool_allocations.c.drawn))
    )
    await uow.session.execute(
        update(pools)
        .where(pools.c.pool_id == pool_id)
        .values(
            settled_units=pools.c.settled_units + result.units,
            settled_fen=pools.c.settled_fen + result.total_fen,
            settled_tax_fen=pools.c.settled_tax_fen + result.tax_fen,
        )
    )
    return {
        "settlement_id": settlement_id,
        "pool_id": pool_id,
        "period": period,
        "units": result.units,
        "total_fen": result.total_fen,
        "tax_fen": result.tax_fen,
        "settled_at": now,
        "shares": [
            {"firm_id": f, "units": s.units, "amount_fen": s.amount_fen, "tax_fen": s.tax_fen, "total_fen": s.total_fen}
            for f, s in sorted(result.shares.items(), key=lambda kv: str(kv[0]))
        ],
    }


async def settlement_statement(uow: UnitOfWork, principal: Principal, settlement_id: UUID, firm_id: UUID) -> dict:
    """One firm's settlement statement: the evidence of its share of a pool for its subsidy base."""
    row = (
        (
            await uow.session.execute(
                text("""
            SELECT a.*, s.pool_id, s.units AS settlement_units, s.total_fen AS settlement_total_fen, s.settled_at,
                   p.community_id, p.vendor_id, p.kind, p.quantity, p.invoice_number, f.district
            FROM ledger.pool_attributions a JOIN ledger.pool_settlements s ON s.settlement_id = a.settlement_id
            JOIN ledger.pools p ON p.pool_id = s.pool_id JOIN ledger.firm_accounts f ON f.firm_id = a.firm_id
            WHERE a.settlement_id = :s AND a.firm_id = :f
            """),
                {"s": settlement_id, "f": firm_id},
            )
        )
        .mappings()
        .first()
    )
    from opc_shared.scoping import may_read

    if row is None or not ("finance" in principal.roles or may_read(principal, row["district"], firm=firm_id)):
        raise NotFound({"en": "settlement statement", "zh-CN": "结算单"}, settlement_id)
    return dict(row)
