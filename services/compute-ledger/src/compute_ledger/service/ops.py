"""What ops watch: records waiting for their firm, and records whose amount disagrees with our rating."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import text

from opc_shared.db import UnitOfWork
from opc_shared.pagination import Page, decode_cursor, encode_cursor


async def unattributed(uow: UnitOfWork, *, cursor: str | None, limit: int) -> Page:
    """Per USCC no registered firm has yet: how many records and how much, oldest first."""
    after = decode_cursor(cursor) if cursor else None
    rows = (
        await uow.session.execute(
            text(
                "SELECT buyer_uscc, count(*) AS records, sum(amount_fen) AS amount_fen, min(received_at) AS first_received_at, "
                "max(started_at) AS last_started_at FROM ledger.usage WHERE firm_id IS NULL AND superseded_by IS NULL "
                "GROUP BY buyer_uscc "
                + ("HAVING (min(received_at), buyer_uscc) > (:at, :uscc) " if after else "")
                + "ORDER BY min(received_at), buyer_uscc LIMIT :limit"
            ),
            {"limit": limit + 1} | ({"at": after[0], "uscc": after[1]} if after else {}),
        )
    ).mappings()
    items = [dict(r) for r in rows]
    next_cursor = None
    if len(items) > limit:
        last = items[limit - 1]
        next_cursor = encode_cursor(last["first_received_at"], last["buyer_uscc"])
    return Page(items=items[:limit], next_cursor=next_cursor)


async def discrepancies(uow: UnitOfWork, *, vendor_id: UUID | None, cursor: str | None, limit: int) -> Page:
    after = decode_cursor(cursor) if cursor else None
    where = ["discrepancy IS NOT NULL", "superseded_by IS NULL"]
    params: dict = {"limit": limit + 1}
    if vendor_id:
        where.append("vendor_id = :vendor_id")
        params["vendor_id"] = vendor_id
    if after:
        where.append("(started_at, usage_id) > (:at, :id)")
        params |= {"at": after[0], "id": int(after[1])}
    rows = (
        await uow.session.execute(
            text(
                "SELECT usage_id, record_id, vendor_id, buyer_uscc, firm_id, kind, resource, started_at, amount_fen, rated_fen, "
                f"discrepancy FROM ledger.usage WHERE {' AND '.join(where)} ORDER BY started_at, usage_id LIMIT :limit"
            ),
            params,
        )
    ).mappings()
    items = [dict(r) for r in rows]
    next_cursor = encode_cursor(items[limit - 1]["started_at"], items[limit - 1]["usage_id"]) if len(items) > limit else None
    return Page(items=items[:limit], next_cursor=next_cursor)
