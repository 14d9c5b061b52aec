"""One subject's events carry a sequence the producer assigns at commit, and a consumer that
keeps state per subject can refuse a late or replayed older event."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from opc_shared.consumer import EventApplier, newest_for_subject
from opc_shared.contracts import topics
from opc_shared.contracts.registry import FirmRegisteredV1, FirmStatusChangedV1
from opc_shared.db import Database
from opc_shared.events import CloudEvent, build_event
from registry.adapters.tables import metadata as registry_metadata
from registry.settings import RegistrySettings
from subsidy.adapters.tables import metadata as subsidy_metadata
from subsidy.settings import SubsidySettings

TOPIC = topics.REGISTRY


@pytest.fixture
async def dbs(infra) -> AsyncIterator[tuple[Database, Database]]:
    registry, subsidy = Database(RegistrySettings(), registry_metadata), Database(SubsidySettings(), subsidy_metadata)
    try:
        yield registry, subsidy
    finally:
        await registry.dispose()
        await subsidy.dispose()


def registered(firm_id: uuid.UUID) -> FirmRegisteredV1:
    return FirmRegisteredV1(firm_id=firm_id, name="顺序", district="wuhou", founder_name="甲", registered_at=datetime.now(UTC))


def status(firm_id: uuid.UUID, new: str, old: str, day: int) -> FirmStatusChangedV1:
    return FirmStatusChangedV1(
        firm_id=firm_id, district="wuhou", status=new, previous_status=old, effective_date=date(2026, 3, day)
    )


async def committed_events(db: Database, subject: str) -> list[CloudEvent]:
    outbox = db.platform.outbox
    async with db.sessionmaker() as session:
        rows = await session.execute(select(outbox.c.payload).where(outbox.c.key == subject).order_by(outbox.c.id))
        return [CloudEvent.model_validate(p) for p in rows.scalars()]


async def test_the_producer_numbers_each_subjects_events_in_commit_order(dbs) -> None:
    registry, _ = dbs
    firm_id, other = uuid.uuid4(), uuid.uuid4()
    async with registry.uow() as uow:
        uow.publish(registered(firm_id))
        uow.publish(registered(other))
        uow.publish(status(firm_id, "suspended", "operating", 1))
        await uow.commit()

    async def change(new: str, old: str, day: int) -> None:
        async with registry.uow() as uow:
            uow.publish(status(firm_id, new, old, day))
            await uow.commit()

    await asyncio.gather(*(change("operating", "suspended", d) for d in range(2, 12)))
    mine = await committed_events(registry, str(firm_id))
    assert [e.subjectseq for e in mine] == list(range(1, 13)), "consecutive, in outbox (relay) order"
    assert [e.subjectseq for e in await committed_events(registry, str(other))] == [1]


async def test_a_late_older_event_does_not_overwrite_newer_state(dbs) -> None:
    """Replayed outbox rows or a replayed dead letter arrive after newer ones: the subsidy
    account keeps the newest status, and the history still records every change."""
    registry, subsidy = dbs
    from subsidy.adapters.tables import accounts, firm_status_changes
    from subsidy.main import spec

    firm_id = uuid.uuid4()
    async with registry.uow() as uow:
        uow.publish(registered(firm_id))
        await uow.commit()
    for new, old, day in (("suspended", "operating", 1), ("deregistered", "suspended", 9)):
        async with registry.uow() as uow:
            uow.publish(status(firm_id, new, old, day))
            await uow.commit()
    first, suspended, deregistered = await committed_events(registry, str(firm_id))

    applier = EventApplier(subsidy, spec.handlers)
    for event in (first, deregistered, suspended):  # the suspension arrives late
        decoded, data = applier.decode(event.to_bytes())
        assert (await applier.apply(decoded, data, TOPIC)).status == "applied"
    async with subsidy.sessionmaker() as session:
        account = (await session.execute(select(accounts.c.status).where(accounts.c.firm_id == firm_id))).scalar_one()
        history = (
            await session.execute(select(firm_status_changes.c.status).where(firm_status_changes.c.firm_id == firm_id))
        ).scalars()
        assert account == "deregistered"
        assert sorted(history) == ["deregistered", "suspended"]


async def test_newest_for_subject_keeps_each_piece_of_state_apart(dbs) -> None:
    _, subsidy = dbs
    firm_id = uuid.uuid4()
    base = CloudEvent(
        id="x", source="/opc/registry", type=FirmRegisteredV1.event_type, subject=str(firm_id), time=datetime.now(UTC), data={}
    )

    async def newest(seq: int | None, state: str) -> bool:
        async with subsidy.uow() as uow:
            answer = await newest_for_subject(uow.work(), base.model_copy(update={"subjectseq": seq}), state)
            await uow.commit()
        return answer

    assert await newest(3, "status")
    assert not await newest(2, "status")
    assert not await newest(3, "status"), "the same event again is not newer"
    assert await newest(2, "profile"), "another piece of state has its own position"
    assert await newest(4, "status")
    assert await newest(None, "status"), "an event without a sequence (an older producer) cannot be judged: applied"


async def test_newest_only_wraps_a_handler_that_overwrites_state(dbs) -> None:
    from opc_shared.consumer import newest_only

    _, subsidy = dbs
    firm_id = uuid.uuid4()
    seen: list[int] = []

    async def overwrite(work, event, data) -> None:
        seen.append(event.subjectseq)

    guarded = newest_only("probe_state", overwrite)
    for seq in (1, 3, 2, 3, 4):  # 2 arrives late, 3 is replayed
        event = build_event(
            event_type=FirmRegisteredV1.event_type, source="/opc/registry", subject=str(firm_id), data={}
        ).model_copy(update={"subjectseq": seq})
        async with subsidy.uow() as uow:
            await guarded(uow.work(), event, None)
            await uow.commit()
    assert seen == [1, 3, 4]
