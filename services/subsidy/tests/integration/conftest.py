"""An in-process subsidy service, and a ledger/registry stand-in that feeds it contract events
through the real inbox (the producers are built by other teams; their contracts are shared)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from opc_devstack.pytest_plugin import bearer
from opc_shared.clock import FixedClock
from opc_shared.consumer import EventApplier
from opc_shared.contracts.base import EventContract
from opc_shared.contracts.ledger import CategoryAmount, InvoiceRecordedV1, InvoiceReversedV1
from opc_shared.contracts.registry import FirmRegisteredV1
from opc_shared.events import build_event
from subsidy.main import spec

VENDOR = uuid.uuid4()


def cat(category: str, total_fen: int, tax_rate_bp: int = 600) -> CategoryAmount:
    """A category amount whose total (tax included) is exactly ``total_fen``."""
    amount = total_fen * 10_000 // (10_000 + tax_rate_bp)
    return CategoryAmount(category=category, amount_fen=amount, tax_fen=total_fen - amount, total_fen=total_fen)


class Feed:
    def __init__(self, client) -> None:
        self.client = client
        self.applier = EventApplier(client.app.state.db, spec.handlers)
        self.seq = 0

    async def send(self, contract: EventContract, at: datetime | None = None) -> str:
        event = build_event(event_type=contract.event_type, source="/opc/test", subject=contract.subject, data=contract.payload())
        if at is not None:
            event = event.model_copy(update={"time": at})
        decoded, data = self.applier.decode(event.to_bytes())
        return (await self.applier.apply(decoded, data, contract.topic)).status

    async def firm(self, district: str, *, graduate: bool = False, registered: datetime | None = None) -> uuid.UUID:
        firm_id = uuid.uuid4()
        at = registered or datetime(2026, 1, 5, 2, tzinfo=UTC)
        await self.send(
            FirmRegisteredV1(
                firm_id=firm_id,
                name=f"企业{firm_id.hex[:6]}",
                district=district,
                founder_name="李雷",
                registered_at=at,
                uscc="91510107MA6CXXXX0" + str(self.seq % 10),
                founder_is_graduate=graduate,
                graduation_date=date(2025, 6, 30) if graduate else None,
            ),
            at,
        )
        self.seq += 1
        return firm_id

    def number(self) -> str:
        """Invoice numbers are unique nationwide (数电票): random here, so tests never collide."""
        return f"{uuid.uuid4().int % 10**20:020d}"

    async def invoice(self, firm_id, district, issued_on: date, *cats: CategoryAmount, number: str | None = None) -> str:
        number = number or self.number()
        await self.send(
            InvoiceRecordedV1(
                firm_id=firm_id,
                district=district,
                vendor_id=VENDOR,
                vendor_uscc="91510100MA61234567",
                invoice_number=number,
                issued_on=issued_on,
                categories=list(cats),
                total_fen=sum(c.total_fen for c in cats),
                recorded_at=datetime.now(UTC),
            )
        )
        return number

    async def reverse(self, firm_id, district, blue: str, blue_issued_on: date, *cats: CategoryAmount) -> str:
        number = self.number()
        await self.send(
            InvoiceReversedV1(
                firm_id=firm_id,
                district=district,
                vendor_id=VENDOR,
                vendor_uscc="91510100MA61234567",
                invoice_number=number,
                reverses=blue,
                reverses_issued_on=blue_issued_on,
                issued_on=blue_issued_on,
                categories=list(cats),
                total_fen=sum(c.total_fen for c in cats),
                fully_reversed=False,
                recorded_at=datetime.now(UTC),
            )
        )
        return number


@pytest.fixture
async def subsidy(service_client):
    async with service_client(spec) as client:
        client.app.state.clock = FixedClock(datetime(2026, 11, 2, 2, tzinfo=UTC))
        client.feed = Feed(client)
        client.district = f"d{uuid.uuid4().hex[:6]}"
        client.staff = lambda *roles, sub=None: bearer(client.district, roles or ("finance",), sub=sub)
        yield client
