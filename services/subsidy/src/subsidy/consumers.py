"""Events this service reacts to. The event's own time is the handlers' "now", so a replay
computes exactly what the first delivery did."""

from __future__ import annotations

from opc_shared.consumer import Batched, Run, newest_for_subject
from opc_shared.contracts.ledger import InvoiceRecordedV1, InvoiceReversedV1, PoolSettlementAttributedV1
from opc_shared.contracts.matching import ScenarioDemoSelectedV1
from opc_shared.contracts.registry import CalendarYearLoadedV1, CommunityRegisteredV1, FirmRegisteredV1, FirmStatusChangedV1
from opc_shared.db import Work
from opc_shared.events import CloudEvent
from subsidy.service import calendar, entitlements
from subsidy.service.accounts import open_for_registered_firms


async def on_firms_registered(work: Work, run: Run) -> None:
    """Accounts opened with their registration facts in one statement per stretch of distinct firms (a firm
    registered twice in a run starts a new stretch, so its second event sees what the first one wrote),
    then each firm's graduate tier from the returned row, in the order the events came."""
    for stretch in _distinct_stretches(run):
        accounts = await open_for_registered_firms(work, [data for _, data in stretch])
        for (event, data), account in zip(stretch, accounts, strict=True):
            await entitlements.on_firm_registered(work, data, event.time, account=account)


def _distinct_stretches(run: Run) -> list[Run]:
    stretches: list[Run] = [[]]
    seen: set = set()
    for event, data in run:
        if data.firm_id in seen:
            stretches.append([])
            seen = set()
        seen.add(data.firm_id)
        stretches[-1].append((event, data))
    return stretches


on_firm_registered = Batched(on_firms_registered)


async def on_firm_status_changed(work: Work, event: CloudEvent, data: FirmStatusChangedV1) -> None:
    newest = await newest_for_subject(work, event, "firm_status")
    await entitlements.on_firm_status_changed(work, data, event.time, newest=newest)


async def on_invoice_recorded(work: Work, event: CloudEvent, data: InvoiceRecordedV1) -> None:
    await entitlements.on_invoice_recorded(work, data, event.time)


async def on_invoice_reversed(work: Work, event: CloudEvent, data: InvoiceReversedV1) -> None:
    await entitlements.on_invoice_reversed(work, data, event.time)


async def on_pool_settlement(work: Work, event: CloudEvent, data: PoolSettlementAttributedV1) -> None:
    await entitlements.on_pool_settlement(work, data, event.time)


async def on_scenario_selected(work: Work, event: CloudEvent, data: ScenarioDemoSelectedV1) -> None:
    await entitlements.on_scenario_selected(work, data, event.time)


async def on_community_registered(work: Work, event: CloudEvent, data: CommunityRegisteredV1) -> None:
    await calendar.store_district_city(work, data.district, data.city)


async def on_calendar_year(work: Work, event: CloudEvent, data: CalendarYearLoadedV1) -> None:
    await calendar.store_year(work, data)


HANDLERS = {
    FirmRegisteredV1: on_firm_registered,
    FirmStatusChangedV1: on_firm_status_changed,
    InvoiceRecordedV1: on_invoice_recorded,
    InvoiceReversedV1: on_invoice_reversed,
    PoolSettlementAttributedV1: on_pool_settlement,
    CalendarYearLoadedV1: on_calendar_year,
    CommunityRegisteredV1: on_community_registered,
    ScenarioDemoSelectedV1: on_scenario_selected,
}
