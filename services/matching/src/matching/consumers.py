"""Events this service reacts to (from the registry)."""

from __future__ import annotations

from matching.service.supplier_profiles import apply_status, open_for_registered_firm, record_community
from opc_shared.consumer import newest_only
from opc_shared.contracts import FirmRegisteredV1
from opc_shared.contracts.registry import CommunityRegisteredV1, FirmStatusChangedV1
from opc_shared.db import Work
from opc_shared.events import CloudEvent


async def on_firm_registered(work: Work, event: CloudEvent, data: FirmRegisteredV1) -> None:
    await open_for_registered_firm(work, data)


async def on_firm_status_changed(work: Work, event: CloudEvent, data: FirmStatusChangedV1) -> None:
    await apply_status(work, data)


async def on_community_registered(work: Work, event: CloudEvent, data: CommunityRegisteredV1) -> None:
    await record_community(work, data)


HANDLERS = {
    FirmRegisteredV1: on_firm_registered,
    # a late or replayed older status (or community edit) never overwrites a newer one
    FirmStatusChangedV1: newest_only("firm_status", on_firm_status_changed),
    CommunityRegisteredV1: newest_only("community", on_community_registered),
}
