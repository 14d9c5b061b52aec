"""What ops watch: records waiting for their firm, and records whose amount disagrees with our rating."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import func, select

from compute_ledger.adapters.tables import usage
from compute_ledger.domain.identifiers import uscc_problem
from opc_shared.db import UnitOfWork
from opc_shared.pagination import Keyset, Page, PageParams

_waiting = (
    select(
        usage.c.buyer_uscc,
        func.count().label("records"),
        func.sum(usage.c.amount_fen).label("amount_fen"),
        func.max(usage.c.received_at).label("last_received_at"),
        func.max(usage.c.started_at).label("last_started_at"),
    )
    .where(usage.c.firm_id.is_(None), usage.c.superseded_by.is_(None))
    .group_by(usage.c.buyer_uscc)
    .subquery("waiting")
)


def _uscc_id(text: str) -> str:
    """A cursor's last id on the unattributed list is a USCC; anything else was not issued by this API."""
    if uscc_problem(text):
        raise ValueError("not a unified social credit code")
    return text


UNATTRIBUTED = Keyset(_waiting.c.last_received_at, _waiting.c.buyer_uscc, id_type=_uscc_id)
DISCREPANCIES = Keyset(usage.c.started_at, usage.c.usage_id, id_type=int)


async def unattributed(uow: UnitOfWork, page: PageParams) -> Page:
    """Per USCC no registered firm has yet: how many records and how much, most recently reported first."""
    rows = (await uow.session.execute(UNATTRIBUTED.apply(select(_waiting), page))).mappings().all()
    return UNATTRIBUTED.page(rows, page)


async def discrepancies(uow: UnitOfWork, *, vendor_id: UUID | None, page: PageParams) -> Page:
    query = select(usage).where(usage.c.discrepancy.is_not(None), usage.c.superseded_by.is_(None))
    if vendor_id:
        query = query.where(usage.c.vendor_id == vendor_id)
    rows = (await uow.session.execute(DISCREPANCIES.apply(query, page))).mappings().all()
    return DISCREPANCIES.page(rows, page)
