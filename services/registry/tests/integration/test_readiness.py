"""Readiness reports what is wrong, by name."""

import asyncio

from registry.main import spec


async def test_readiness_names_what_is_unreachable(service_client) -> None:
    async with service_client(spec, kafka_bootstrap_servers="127.0.0.1:9") as client:
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert set(response.json()["reasons"]) == {"broker"}
    async with service_client(spec, database_url="postgresql+asyncpg://nobody:x@127.0.0.1:9/opc") as client:
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert "database" in response.json()["reasons"]


async def test_readiness_fails_when_a_worker_died(service_client) -> None:
    async with service_client(spec, run_relay=True) as client:
        assert (await client.get("/readyz")).status_code == 200
        workers = client.app.state.workers
        [relay_task] = [task for task in workers._tasks if task.get_name() == "outbox-relay"]
        relay_task.cancel()
        await asyncio.gather(relay_task, return_exceptions=True)
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["reasons"] == {"outbox-relay": "stopped"}
