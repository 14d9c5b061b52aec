"""One vendor webhook call: who sent it (the signature), was it seen before (webhook-id, for good),
and what it says (``usage.reported``, ``invoice.issued``, ``invoice.reversed``).

A call that is unsigned, badly signed, stale or replayed changes nothing. Bodies are never logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from pydantic_core import from_json
from sqlalchemy import text

from compute_ledger.adapters import signatures
from compute_ledger.adapters.usage_store import PartitionKeeper
from compute_ledger.domain.pricing import PriceBook, Tolerance
from compute_ledger.domain.usage import decode_usage, message_key
from compute_ledger.service import ingest, invoices
from compute_ledger.service.vendors import to_price
from opc_shared.db import Database, UnitOfWork, dicts
from opc_shared.errors import DomainError, InvalidInput
from opc_shared.reads import ReadSession

TYPES = ("usage.reported", "invoice.issued", "invoice.reversed")

# The vendor, its live secrets and how many price versions it has (price rows are only ever added:
# the count tells whether the process's copy of its price book is current), in one round trip.
_VENDOR_SQL = text("""
SELECT v.vendor_id, v.uscc, v.status,
       coalesce((SELECT array_agg(s.secret ORDER BY s.created_at DESC) FROM ledger.vendor_secrets s
                 WHERE s.vendor_id = v.vendor_id AND (s.expires_at IS NULL OR s.expires_at > :now)), '{}') AS secrets,
       (SELECT count(*) FROM ledger.price_tables p WHERE p.vendor_id = v.vendor_id) AS prices
FROM ledger.vendors v WHERE v.vendor_id = :vendor_id
""")
_PRICES_SQL = text("SELECT * FROM ledger.price_tables WHERE vendor_id = :v")


class PriceBooks:
    """Each vendor's price book as last read, kept per process with the number of price versions it
    was built from: price versions are only ever added (``service/vendors.py``), so a book is current
    exactly when the vendor has as many versions as it holds, which the vendor query counts."""

    def __init__(self, size: int = 1024) -> None:
        self._books: dict[UUID, tuple[int, PriceBook]] = {}
        self._size = size

    async def book(self, session: ReadSession, vendor_id: UUID, versions: int) -> PriceBook:
        held = self._books.get(vendor_id)
        if held is not None and held[0] == versions:
            return held[1]
        rows = dicts(await session.execute(_PRICES_SQL, {"v": vendor_id}))
        book = PriceBook([to_price(r) for r in rows])
        if len(self._books) >= self._size:
            self._books.clear()
        self._books[vendor_id] = (len(rows), book)  # the versions actually read
        return book


PRICE_BOOKS = PriceBooks()


@dataclass(frozen=True)
class Policy:
    tolerance: Tolerance
    invoice_tolerance_fen: int
    default_city: str


async def receive(
    uow: UnitOfWork,
    db: Database,
    *,
    vendor_id: UUID,
    body: bytes,
    headers: dict[str, str],
    now: datetime,
    policy: Policy,
    partitions: PartitionKeeper,
) -> ingest.Answer | dict:
    async with db.uow(read_only=True) as reads:  # autocommit: no BEGIN/COMMIT for what only reads
        vendor = (await reads.session.execute(_VENDOR_SQL, {"vendor_id": vendor_id, "now": now})).first()
        if vendor is None:
            raise DomainError("webhook_signature_invalid", {"reason": "unknown vendor"})
        try:
            signatures.verify(body, headers, list(vendor.secrets), now)
        except signatures.SignatureRefused as exc:
            raise DomainError("webhook_signature_invalid", {"reason": exc.reason}) from None
        if vendor.status != "active":
            raise DomainError("vendor_suspended")
        key = message_key(vendor_id, headers.get("webhook-id", ""))
        records = decode_usage(body)  # the usual body, decoded and checked in C; None: any other, parsed below
        typed = records is not None
        if records is None:
            try:
                payload = from_json(body)  # parsed once, after the signature was checked on the raw bytes
            except ValueError:
                raise DomainError("webhook_body_not_json") from None
            if not isinstance(payload, dict) or payload.get("type") not in TYPES:
                raise InvalidInput([("type", "literal_error", f"one of {', '.join(TYPES)}")])
            if not isinstance(payload.get("data"), dict):
                raise InvalidInput([("data", "value_error", "an object")])
            if payload["type"] == "usage.reported":
                records = ingest.records_of(payload["data"])
        if records is not None:
            book = await PRICE_BOOKS.book(reads.session, vendor_id, vendor.prices)
            return await ingest.report(
                uow,
                db,
                ingest.Vendor(vendor_id, vendor.uscc, book),
                records,
                typed=typed,
                message_key=key,
                now=now,
                tolerance=policy.tolerance,
                default_city=policy.default_city,
                partitions=partitions,
                autocommit=reads.session,
            )
    kind = payload["type"]
    from compute_ledger.adapters.usage_store import claim_message

    if not await claim_message(uow.session, message_key=key, vendor_id=vendor_id, type_=kind, now=now):
        raise DomainError("webhook_replayed")
    if kind == "invoice.issued":
        return await invoices.issued(
            uow, vendor_id, vendor.uscc, payload["data"], now=now, tolerance_fen=policy.invoice_tolerance_fen
        )
    return await invoices.reversed_(uow, vendor_id, payload["data"], now=now)
