"""The firm.registered handler through the real inbox, then read through the API."""

from datetime import UTC, datetime
from uuid import uuid4

from opc_devstack.pytest_plugin import bearer
from opc_shared.consumer import EventApplier
from opc_shared.contracts import FirmRegisteredV1, topics
from opc_shared.events import build_event
from subsidy.main import spec


async def test_firm_registered_opens_one_record_readable_in_its_district(service_client) -> None:
    firm = FirmRegisteredV1(
        firm_id=uuid4(), name="成都测试企业", district="wenjiang", founder_name="f", registered_at=datetime.now(UTC)
    )
    event = build_event(event_type=firm.event_type, source="/opc/registry", subject=firm.subject, data=firm.payload())
    async with service_client(spec) as client:
        applier = EventApplier(client.app.state.db, spec.handlers)
        decoded, data = applier.decode(event.to_bytes())
        assert (await applier.apply(decoded, data, topics.REGISTRY)).status == "applied"
        assert (await applier.apply(decoded, data, topics.REGISTRY)).status == "duplicate"
        got = await client.get(f"/v1/accounts/{firm.firm_id}", headers=bearer("wenjiang"))
        assert got.status_code == 200 and got.json()["firm_name"] == "成都测试企业"
        assert (await client.get(f"/v1/accounts/{firm.firm_id}", headers=bearer("wuhou"))).status_code == 404
        listed = (await client.get("/v1/accounts", headers=bearer("*", ("finance",)), params={"district": "wenjiang"})).json()
        assert str(firm.firm_id) in {i["firm_id"] for i in listed["items"]}
        firm_user = await client.get("/v1/accounts", headers=bearer("wenjiang", ("firm",), firm_id=str(firm.firm_id)))
        assert firm_user.status_code == 403


async def test_a_run_of_registrations_equals_them_applied_one_by_one(service_client) -> None:
    """The batched handler: several firms in one statement, a firm registered twice in the run keeps its
    later facts, and a graduate founder's tier is worked out from the returned row, as alone."""
    from sqlalchemy import select

    from opc_shared.consumer import Batched
    from subsidy.adapters.tables import accounts as table
    from subsidy.consumers import HANDLERS

    assert isinstance(HANDLERS[FirmRegisteredV1], Batched)
    now = datetime.now(UTC)

    def registered(firm_id, name, **extra) -> FirmRegisteredV1:
        return FirmRegisteredV1(firm_id=firm_id, name=name, district="wuhou", founder_name="f", registered_at=now, **extra)

    twice, other, graduate = uuid4(), uuid4(), uuid4()
    firms = [
        registered(twice, "先到", uscc=None),
        registered(other, "另一家"),
        registered(graduate, "毕业生", founder_is_graduate=True, graduation_date=now.date().replace(year=now.year - 1)),
        registered(twice, "先到", uscc="91510107MA6CXXXX0"[:17] + "0"),
    ]
    events = [build_event(event_type=f.event_type, source="/opc/registry", subject=f.subject, data=f.payload()) for f in firms]
    async with service_client(spec) as client:
        applier = EventApplier(client.app.state.db, spec.handlers)
        outcomes = await applier.apply_many([(e, f, topics.REGISTRY) for e, f in zip(events, firms, strict=True)])
        assert [o.status for o in outcomes] == ["applied"] * 4
        finance = bearer("*", ("finance",))
        accounts = {i: (await client.get(f"/v1/accounts/{i}", headers=finance)).json() for i in (twice, other, graduate)}
        assert accounts[twice]["uscc"] == firms[3].uscc, "the later event of the same firm wins, as one by one"
        assert accounts[other]["firm_name"] == "另一家"
        async with client.app.state.db.sessionmaker() as session:
            row = (await session.execute(select(table).where(table.c.firm_id == graduate))).mappings().one()
        assert row["founder_is_graduate"] is True and row["graduation_date"] == firms[2].graduation_date
