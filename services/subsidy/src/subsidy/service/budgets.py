"""Budgets per programme, year and scope (a district, or "*" for the city).

Approval reserves, payment commits, a refused transfer or a recovery releases. Each move is one
conditional UPDATE (``… WHERE reserved + committed + x <= total``): Postgres locks the row for the
statement, so concurrent approvals queue on it and the last one that does not fit gets nothing
— and a CHECK constraint backs the same rule should any code ever forget it.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from opc_shared.db import Work
from opc_shared.errors import Conflict, DomainError
from subsidy.adapters.tables import budgets


async def create(work: Work, programme: str, year: int, scope: str, total_fen: int) -> dict:
    try:
        async with work.session.begin_nested():
            row = (
                (
                    await work.session.execute(
                        insert(budgets)
                        .values(id=uuid.uuid4(), programme=programme, year=year, scope=scope, total_fen=total_fen)
                        .returning(budgets)
                    )
                )
                .mappings()
                .one()
            )
    except IntegrityError:
        raise Conflict(f"a {programme} budget for {year} in {scope} exists") from None
    return figures(dict(row))


def figures(row: dict) -> dict:
    return {**row, "left_fen": row["total_fen"] - row["reserved_fen"] - row["committed_fen"]}


async def _find(work: Work, programme: str, year: int, district: str) -> dict | None:
    """The district's own budget, else the city's."""
    rows = await work.session.execute(
        select(budgets).where(budgets.c.programme == programme, budgets.c.year == year, budgets.c.scope.in_((district, "*")))
    )
    found = {r["scope"]: dict(r) for r in rows.mappings()}
    return found.get(district) or found.get("*")


async def reserve(work: Work, programme: str, year: int, district: str, amount: int) -> uuid.UUID:
    budget = await _find(work, programme, year, district)
    if budget is None:
        raise DomainError("no_budget", {"programme": programme, "year": year, "scope": district})
    row = (
        await work.session.execute(
            update(budgets)
            .where(budgets.c.id == budget["id"], budgets.c.reserved_fen + budgets.c.committed_fen + amount <= budgets.c.total_fen)
            .values(reserved_fen=budgets.c.reserved_fen + amount)
            .returning(budgets.c.id)
        )
    ).first()
    if row is None:
        now = (await work.session.execute(select(budgets).where(budgets.c.id == budget["id"]))).mappings().one()
        left = now["total_fen"] - now["reserved_fen"] - now["committed_fen"]
        raise DomainError(
            "budget_exhausted",
            {"programme": programme, "year": year, "scope": budget["scope"], "left": left, "needed": amount},
        )
    return row.id


async def commit(work: Work, budget_id: uuid.UUID, amount: int) -> None:
    await work.session.execute(
        update(budgets)
        .where(budgets.c.id == budget_id)
        .values(reserved_fen=budgets.c.reserved_fen - amount, committed_fen=budgets.c.committed_fen + amount)
    )


async def release_committed(work: Work, budget_id: uuid.UUID, amount: int) -> None:
    await work.session.execute(
        update(budgets).where(budgets.c.id == budget_id).values(committed_fen=budgets.c.committed_fen - amount)
    )


async def list_for(work: Work, year: int, scope: str | None) -> list[dict]:
    query = select(budgets).where(budgets.c.year == year).order_by(budgets.c.programme, budgets.c.scope)
    if scope is not None:
        query = query.where(budgets.c.scope.in_((scope, "*")))
    return [figures(dict(r)) for r in (await work.session.execute(query)).mappings()]


async def reserve_if_budgeted(work: Work, programme: str, year: int, district: str, amount: int) -> uuid.UUID | None:
    """Automatic entitlements reserve when they are scheduled for payment, where a budget is set."""
    if await _find(work, programme, year, district) is None:
        return None
    return await reserve(work, programme, year, district, amount)


async def release_reserved(work: Work, budget_id: uuid.UUID, amount: int) -> None:
    await work.session.execute(
        update(budgets).where(budgets.c.id == budget_id).values(reserved_fen=budgets.c.reserved_fen - amount)
    )


async def release_recovered(work: Work, programme: str, year: int, district: str, amount: int) -> None:
    """Money recovered goes back to the budget it was committed from (never below zero)."""
    budget = await _find(work, programme, year, district)
    if budget is not None:
        await work.session.execute(
            update(budgets)
            .where(budgets.c.id == budget["id"])
            .values(committed_fen=func.greatest(budgets.c.committed_fen - amount, 0))
        )
