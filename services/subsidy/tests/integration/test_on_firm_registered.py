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
