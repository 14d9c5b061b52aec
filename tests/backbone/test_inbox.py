"""The inbox against the real database: what a poll's batch records is exactly what it applies,
and handlers cannot end the consumer's transaction early."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from opc_shared.consumer import EventApplier
from opc_shared.contracts import FirmRegisteredV1, topics
from opc_shared.db import Database
from opc_shared.events import CloudEvent, build_event
from subsidy.adapters.tables import accounts
from subsidy.adapters.tables import metadata as subsidy_metadata
from subsidy.service.accounts import open_for_registered_firm
from subsidy.settings import SubsidySettings

TOPIC = topics.REGISTRY


@pytest.fixture
async def subsidy_db(infra) -> AsyncIterator[Database]:
    db = Database(SubsidySettings(), subsidy_metadata)
    try:
        yield db
    finally:
        await db.dispose()


def firm_event(
    *, event_id: str | None = None, source: str = "/opc/registry", name: str = "收件箱"
) -> tuple[CloudEvent, FirmRegisteredV1]:
    firm = FirmRegisteredV1(firm_id=uuid.uuid4(), name=name, district="wuhou", founder_name="甲", registered_at=datetime.now(UTC))
    event = build_event(event_type=firm.event_type, source=source, subject=firm.subject, data=firm.payload(), event_id=event_id)
    return event, firm


async def count_accounts(db: Database, firms: list[FirmRegisteredV1]) -> int:
    async with db.sessionmaker() as session:
        query = select(func.count()).select_from(accounts).where(accounts.c.firm_id.in_([f.firm_id for f in firms]))
        return (await session.execute(query)).scalar_one()


async def count_inbox(db: Database, events: list[CloudEvent]) -> int:
    inbox = db.platform.inbox
    async with db.sessionmaker() as session:
        query = select(func.count()).select_from(inbox).where(inbox.c.event_id.in_([e.id for e in events]))
        return (await session.execute(query)).scalar_one()


async def open_account(work, event, data: FirmRegisteredV1) -> None:
    await open_for_registered_firm(work, data)


async def test_a_batch_applies_events_whose_ids_are_upper_case(subsidy_db: Database) -> None:
    """CloudEvents ids are opaque strings: an upper-case UUID is a fresh id, not a duplicate."""
    items = [firm_event(event_id=str(uuid.uuid4()).upper()) for _ in range(2)]
    applier = EventApplier(subsidy_db, {FirmRegisteredV1: open_account})
    outcomes = await applier.apply_many([(event, firm, TOPIC) for event, firm in items])
    assert [o.status for o in outcomes] == ["applied", "applied"]
    assert await count_accounts(subsidy_db, [firm for _, firm in items]) == 2
    assert await count_inbox(subsidy_db, [event for event, _ in items]) == 2
    # and redelivered, in the same spelling, they are duplicates
    again = await applier.apply_many([(event, firm, TOPIC) for event, firm in items])
    assert [o.status for o in again] == ["duplicate", "duplicate"]


async def test_the_same_id_from_two_sources_is_two_events(subsidy_db: Database) -> None:
    shared_id = f"vendor-{uuid.uuid4().hex}"  # not a UUID at all: CloudEvents only asks for a string
    first, first_firm = firm_event(event_id=shared_id, source="/opc/registry")
    second, second_firm = firm_event(event_id=shared_id, source="/opc/registry-replica")
    applier = EventApplier(subsidy_db, {FirmRegisteredV1: open_account})
    outcomes = await applier.apply_many([(first, first_firm, TOPIC), (second, second_firm, TOPIC), (first, first_firm, TOPIC)])
    assert [o.status for o in outcomes] == ["applied", "applied", "duplicate"]
    assert (await applier.apply(second, second_firm, TOPIC)).status == "duplicate"
    assert await count_accounts(subsidy_db, [first_firm, second_firm]) == 2


async def test_a_handler_cannot_commit_the_batch_it_runs_in(subsidy_db: Database) -> None:
    """A handler that commits would make the poll's inbox rows durable before later handlers ran;
    when a later one failed, the fallback would then skip those events as duplicates."""
    items = [firm_event(name=f"提交-{i}") for i in range(2)]
    calls: list[str] = []

    async def committing_then_failing(work, event, data: FirmRegisteredV1) -> None:
        calls.append(event.id)
        await open_for_registered_firm(work, data)
        if len(calls) == 1:
            await work.session.commit()
        else:
            raise ValueError("the second handler fails")

    applier = EventApplier(subsidy_db, {FirmRegisteredV1: committing_then_failing})
    with pytest.raises(Exception):  # noqa: B017 - either the refused commit or the second failure
        await applier.apply_many([(event, firm, TOPIC) for event, firm in items])
    assert await count_inbox(subsidy_db, [event for event, _ in items]) == 0, "nothing of the failed batch may be kept"
    assert await count_accounts(subsidy_db, [firm for _, firm in items]) == 0

    honest = EventApplier(subsidy_db, {FirmRegisteredV1: open_account})
    assert [(await honest.apply(event, firm, TOPIC)).status for event, firm in items] == ["applied", "applied"]
    assert await count_accounts(subsidy_db, [firm for _, firm in items]) == 2


async def test_a_handler_cannot_roll_back_or_close_the_transaction_either(subsidy_db: Database) -> None:
    event, firm = firm_event()
    refused: list[str] = []

    async def meddling(work, event, data) -> None:
        for name in ("commit", "rollback", "close"):
            try:
                await getattr(work.session, name)()
            except AttributeError:
                refused.append(name)
        await open_for_registered_firm(work, data)

    applier = EventApplier(subsidy_db, {FirmRegisteredV1: meddling})
    assert (await applier.apply(event, firm, TOPIC)).status == "applied"
    assert refused == ["commit", "rollback", "close"]
    assert await count_accounts(subsidy_db, [firm]) == 1


async def test_a_batched_handler_gets_consecutive_runs_of_its_type_in_order_and_duplicates_once(subsidy_db: Database) -> None:
    """Runs are cut where the type changes, so an event of another type keeps its place between them;
    a duplicate (seen before or twice in the poll) is in no run; a run of one goes through the same code."""
    from opc_shared.consumer import Batched
    from opc_shared.contracts.registry import FirmStatusChangedV1

    runs: list[list[str]] = []
    order: list[str] = []

    async def open_many(work, run) -> None:
        runs.append([data.name for _, data in run])
        order.extend(data.name for _, data in run)
        for _, data in run:
            await open_for_registered_firm(work, data)

    async def status(work, event, data) -> None:
        order.append(f"status {data.status}")

    applier = EventApplier(subsidy_db, {FirmRegisteredV1: Batched(open_many), FirmStatusChangedV1: status})
    seen_before = firm_event(name="早到")
    assert (await applier.apply(*seen_before, TOPIC)).status == "applied"
    assert runs == [["早到"]], "a single event is a run of one"
    a, b, c, d = (firm_event(name=n) for n in ("甲", "乙", "丙", "丁"))
    change = FirmStatusChangedV1(
        firm_id=a[1].firm_id,
        district="wuhou",
        previous_status="operating",
        status="suspended",
        effective_date=datetime.now(UTC).date(),
    )
    change_event = build_event(
        event_type=change.event_type, source="/opc/registry", subject=change.subject, data=change.payload()
    )
    items = [a, seen_before, b, a, (change_event, change), c, d]
    outcomes = await applier.apply_many([(e, data, TOPIC) for e, data in items])
    assert [o.status for o in outcomes] == ["applied", "duplicate", "applied", "duplicate", "applied", "applied", "applied"]
    assert runs[1:] == [["甲", "乙"], ["丙", "丁"]]
    assert order[1:] == ["甲", "乙", "status suspended", "丙", "丁"]
    assert await count_accounts(subsidy_db, [a[1], b[1], c[1], d[1]]) == 4


async def test_a_failing_batched_run_keeps_nothing_and_each_event_is_then_applied_alone(subsidy_db: Database) -> None:
    from opc_shared.consumer import Batched

    calls: list[int] = []

    async def open_many(work, run) -> None:
        calls.append(len(run))
        for _, data in run:
            if data.name == "坏的":
                raise ValueError("cannot open this one")
            await open_for_registered_firm(work, data)

    applier = EventApplier(subsidy_db, {FirmRegisteredV1: Batched(open_many)})
    good, bad = firm_event(name="好的"), firm_event(name="坏的")
    with pytest.raises(ValueError):
        await applier.apply_many([(e, data, TOPIC) for e, data in (good, bad)])
    assert await count_inbox(subsidy_db, [good[0], bad[0]]) == 0
    assert await count_accounts(subsidy_db, [good[1]]) == 0, "the run's first account was rolled back with it"
    assert (await applier.apply(*good, TOPIC)).status == "applied"
    assert calls == [2, 1]
