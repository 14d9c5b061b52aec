"""Compliant compute providers and their webhook secrets. Secrets are returned once, at creation
or rotation, and never again; reads list a secret's id and expiry only."""

from __future__ import annotations

import base64
import secrets as random
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from compute_ledger.adapters.tables import price_tables, vendor_secrets, vendors
from compute_ledger.domain.identifiers import uscc_problem
from compute_ledger.domain.pricing import Price
from opc_shared.db import UnitOfWork, dicts
from opc_shared.errors import DomainError, InvalidInput, NotFound

MAX_OVERLAP = timedelta(days=30)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(random.token_bytes(32)).decode()


def _not_found(vendor_id: uuid.UUID) -> NotFound:
    return NotFound({"en": "vendor", "zh-CN": "算力服务商"}, vendor_id)


async def register(uow: UnitOfWork, *, name: str, uscc: str, kind: str, now: datetime) -> dict:
    problem = uscc_problem(uscc)
    if problem:
        raise InvalidInput([("uscc", "value_error", problem)])
    vendor_id = uuid.uuid4()
    secret = new_secret()
    existing = await uow.session.execute(select(vendors.c.vendor_id).where(vendors.c.uscc == uscc))
    if existing.first() is not None:
        raise DomainError("vendor_uscc_taken", {"uscc": uscc})
    row = {"vendor_id": vendor_id, "name": name, "uscc": uscc, "kind": kind, "status": "active", "created_at": now}
    try:
        async with uow.session.begin_nested():
            await uow.session.execute(vendors.insert().values(**row))
    except IntegrityError:
        raise DomainError("vendor_uscc_taken", {"uscc": uscc}) from None
    secret_id = uuid.uuid4()
    await uow.session.execute(
        vendor_secrets.insert().values(secret_id=secret_id, vendor_id=vendor_id, secret=secret, created_at=now, expires_at=None)
    )
    return await get(uow, vendor_id) | {"webhook_secret": secret}


async def get(uow: UnitOfWork, vendor_id: uuid.UUID) -> dict:
    row = (await uow.session.execute(select(vendors).where(vendors.c.vendor_id == vendor_id))).mappings().first()
    if row is None:
        raise _not_found(vendor_id)
    keys = (
        await uow.session.execute(
            select(vendor_secrets.c.secret_id, vendor_secrets.c.created_at, vendor_secrets.c.expires_at)
            .where(vendor_secrets.c.vendor_id == vendor_id)
            .order_by(vendor_secrets.c.created_at)
        )
    ).mappings()
    return {**row, "id": row["vendor_id"], "secrets": [dict(k) for k in keys]}


async def list_all(uow: UnitOfWork) -> list[dict]:
    rows = (await uow.session.execute(select(vendors).order_by(vendors.c.created_at, vendors.c.vendor_id))).mappings()
    return [{**r, "id": r["vendor_id"], "secrets": []} for r in rows]


async def rotate(uow: UnitOfWork, vendor_id: uuid.UUID, *, old_expires_at: datetime | None, now: datetime) -> dict:
    """A new secret works at once; every older one keeps working until ``old_expires_at``
    (default: one day), so a vendor switching over never has a window of refused calls."""
    await _lock(uow, vendor_id)
    expires = old_expires_at or now + timedelta(days=1)
    if expires <= now or expires > now + MAX_OVERLAP:
        raise InvalidInput([("old_secret_expires_at", "value_error", "must lie in the next 30 days")])
    await uow.session.execute(
        update(vendor_secrets)
        .where(
            vendor_secrets.c.vendor_id == vendor_id,
            (vendor_secrets.c.expires_at.is_(None)) | (vendor_secrets.c.expires_at > expires),
        )
        .values(expires_at=expires)
    )
    secret = new_secret()
    await uow.session.execute(
        vendor_secrets.insert().values(
            secret_id=uuid.uuid4(), vendor_id=vendor_id, secret=secret, created_at=now, expires_at=None
        )
    )
    return await get(uow, vendor_id) | {"webhook_secret": secret}


async def set_status(uow: UnitOfWork, vendor_id: uuid.UUID, *, suspended: bool, now: datetime) -> dict:
    await _lock(uow, vendor_id)
    await uow.session.execute(
        update(vendors)
        .where(vendors.c.vendor_id == vendor_id)
        .values(status="suspended" if suspended else "active", suspended_at=now if suspended else None)
    )
    return await get(uow, vendor_id)


async def _lock(uow: UnitOfWork, vendor_id: uuid.UUID) -> None:
    got = await uow.session.execute(select(vendors.c.vendor_id).where(vendors.c.vendor_id == vendor_id).with_for_update())
    if got.first() is None:
        raise _not_found(vendor_id)


async def add_price(uow: UnitOfWork, vendor_id: uuid.UUID, *, body: dict, now: datetime) -> dict:
    """A new version of one resource's price, in force from ``effective_from`` until the next version's."""
    await _lock(uow, vendor_id)
    if body["kind"] == "gpu":
        if body.get("fen_per_gpu_hour") is None:
            raise InvalidInput([("fen_per_gpu_hour", "missing", "a GPU price is per GPU-hour")])
    elif body.get("fen_per_m_input") is None or body.get("fen_per_m_output") is None:
        raise InvalidInput([("fen_per_m_input", "missing", "a model price needs input and output prices")])
    version = (
        await uow.session.execute(
            select(func.coalesce(func.max(price_tables.c.version), 0)).where(
                price_tables.c.vendor_id == vendor_id,
                price_tables.c.kind == body["kind"],
                price_tables.c.resource == body["resource"],
            )
        )
    ).scalar_one() + 1
    row = {"price_id": uuid.uuid4(), "vendor_id": vendor_id, "version": version, "created_at": now, **body}
    try:
        async with uow.session.begin_nested():
            await uow.session.execute(price_tables.insert().values(**row))
    except IntegrityError:
        raise DomainError("conflict", {"reason": "a price for this resource already starts at that moment"}) from None
    return row


async def prices(uow: UnitOfWork, vendor_id: uuid.UUID) -> list[dict]:
    rows = await uow.session.execute(
        select(price_tables)
        .where(price_tables.c.vendor_id == vendor_id)
        .order_by(price_tables.c.kind, price_tables.c.resource, price_tables.c.effective_from)
    )
    return dicts(rows)


def to_price(row: dict) -> Price:
    def dec(v: object) -> Decimal | None:
        return None if v is None else Decimal(v)

    return Price(
        kind=row["kind"],
        resource=row["resource"],
        version=row["version"],
        effective_from=row["effective_from"],
        fen_per_gpu_hour=dec(row["fen_per_gpu_hour"]),
        fen_per_m_input=dec(row["fen_per_m_input"]),
        fen_per_m_cached_input=dec(row["fen_per_m_cached_input"]),
        fen_per_m_output=dec(row["fen_per_m_output"]),
    )
