"""Events this service reacts to: firms (their USCC ties vendors' records to them) and communities (pools)."""

from __future__ import annotations

from datetime import UTC, datetime

from compute_ledger.service import firm_accounts
from compute_ledger.settings import ComputeLedgerSettings
from opc_shared.contracts.registry import CommunityRegisteredV1, FirmRegisteredV1
from opc_shared.db import Work
from opc_shared.events import CloudEvent


async def on_firm_registered(work: Work, event: CloudEvent, data: FirmRegisteredV1) -> None:
    settings = ComputeLedgerSettings()
    await firm_accounts.open_for_registered_firm(work, data, default_city=settings.default_city, now=datetime.now(UTC))


async def on_community_registered(work: Work, event: CloudEvent, data: CommunityRegisteredV1) -> None:
    await firm_accounts.community_registered(work, data)


HANDLERS = {FirmRegisteredV1: on_firm_registered, CommunityRegisteredV1: on_community_registered}
