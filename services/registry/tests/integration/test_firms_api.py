"""Registry's firm API in process against the real database (relay off)."""

import uuid

from opc_devstack.pytest_plugin import bearer
from registry.main import spec


async def test_register_read_and_page_through_firms(service_client) -> None:
    district = f"d{uuid.uuid4().hex[:8]}"
    async with service_client(spec) as client:
        ids = []
        for i in range(5):
            response = await client.post(
                "/v1/firms", json={"name": f"firm {i}", "district": district, "founder_name": "f"}, headers=bearer(district)
            )
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
        seen, cursor = [], None
        while True:
            params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = (await client.get("/v1/firms", params=params, headers=bearer(district))).json()
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == list(reversed(ids))
        one = await client.get(f"/v1/firms/{ids[0]}", headers=bearer(district))
        assert one.json()["name"] == "firm 0"
        assert (await client.get(f"/v1/firms/{ids[0]}", headers=bearer("elsewhere"))).status_code == 404
        bad_cursor = await client.get("/v1/firms", params={"cursor": "nope"}, headers=bearer(district))
        assert bad_cursor.status_code == 422 and bad_cursor.json()["errors"][0]["field"] == "cursor"


async def test_registration_writes_the_event_to_the_outbox_in_the_same_transaction(service_client) -> None:
    from sqlalchemy import select

    async with service_client(spec) as client:
        response = await client.post(
            "/v1/firms", json={"name": "outboxed", "district": "wuhou", "founder_name": "f"}, headers=bearer()
        )
        firm_id = response.json()["id"]
        db = client.app.state.db
        outbox = db.platform.outbox
        async with db.sessionmaker() as session:
            row = (await session.execute(select(outbox).where(outbox.c.key == firm_id))).mappings().one()
        assert row["event_type"] == "opc.registry.firm.registered.v1"
        assert row["topic"] == "opc.registry.v1"
        assert row["payload"]["data"]["name"] == "outboxed"
        assert row["sent_at"] is None  # relay is off in this test


async def test_readiness_names_what_is_unreachable(service_client) -> None:
    async with service_client(spec, kafka_bootstrap_servers="127.0.0.1:9") as client:
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert set(response.json()["reasons"]) == {"broker"}
    async with service_client(spec, database_url="postgresql+asyncpg://nobody:x@127.0.0.1:9/opc") as client:
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert "database" in response.json()["reasons"]


async def test_readiness_fails_when_a_worker_died(service_client) -> None:  # noqa: ANN001
    import asyncio

    async with service_client(spec, run_relay=True) as client:
        assert (await client.get("/readyz")).status_code == 200
        workers = client.app.state.workers
        [relay_task] = workers._tasks
        relay_task.cancel()
        await asyncio.gather(relay_task, return_exceptions=True)
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["reasons"] == {"outbox-relay": "stopped"}
