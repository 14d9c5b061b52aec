"""Events this service reacts to."""

from __future__ import annotations

from opc_shared.contracts import FirmRegisteredV1
from opc_shared.db import Work
from opc_shared.events import CloudEvent
from subsidy.service.accounts import open_for_registered_firm


async def on_firm_registered(work: Work, event: CloudEvent, data: FirmRegisteredV1) -> None:
    await open_for_registered_firm(work, data)


HANDLERS = {FirmRegisteredV1: on_firm_registered}
