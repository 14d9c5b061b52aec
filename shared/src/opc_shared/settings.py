"""One settings mechanism for every service.

Each service subclasses :class:`ServiceSettings` with its own env prefix
(``OPC_REGISTRY_`` …). A value set under the service prefix wins over the same
name under the common ``OPC_`` prefix, so ops can point all services at one
database with ``OPC_DATABASE_URL`` and still override one of them.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from opc_shared.service_list import ServiceInfo, service

DEFAULT_JWT_SECRET = "dev-only-insecure-secret-change-me"


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_prefix="OPC_")

    #: The service's entry in the one list of services; name, schema, topic and port come from it.
    service: ClassVar[ServiceInfo | None] = None
    service_name: ClassVar[str] = "service"
    #: Postgres schema the service owns; also the name of its database role in the dev stack.
    db_schema: ClassVar[str] = "public"
    #: Kafka topic the service publishes to.
    topic: ClassVar[str] = ""
    #: Topics the service consumes from.
    consumes: ClassVar[tuple[str, ...]] = ()
    default_port: ClassVar[int] = 8000

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/opc"
    db_pool_size: int = Field(default=20, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    #: Check a pooled connection before use if it sat idle longer than ``db_pool_ping_idle_s``, so a
    #: database restart goes unnoticed by requests; a connection in steady use is not checked.
    db_pool_pre_ping: bool = True
    db_pool_ping_idle_s: float = Field(default=1.0, ge=0)
    #: Pooled connections a process keeps checked out for reads between requests (see
    #: :class:`opc_shared.reads.KeptConnections`); at most a quarter of ``db_pool_size + db_max_overflow``.
    db_read_connections_kept: int = Field(default=4, ge=0)
    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    #: How long a broker may hold a fetch waiting for data (Kafka's ``fetch.max.wait.ms``). Kafka and
    #: noida answer as soon as data lands; Tansu answers only after it, so the dev stack sets 5 there.
    kafka_fetch_max_wait_ms: int = Field(default=500, ge=0)
    #: While nothing arrives, space fetches out up to this long (a broker that answers empty fetches at
    #: once, like noida, would otherwise be polled thousands of times a second). Costs at most this much
    #: latency on the first event after a quiet spell; no effect against Kafka's own long poll.
    kafka_idle_fetch_wait_ms: int = Field(default=250, ge=0)
    #: While records keep arriving, start a fetch at most this often, so each poll carries what landed
    #: in the meantime: the consumer's fixed cost per poll (fetch, transaction, inbox insert, offset
    #: commit) is shared by more events when the stream is busy. Adds at most this much latency to an
    #: event that lands right after a fetch; a quiet stream's first event is not delayed by it.
    kafka_busy_fetch_interval_ms: int = Field(default=10, ge=0)
    kafka_client_id: str | None = None
    host: str = "127.0.0.1"
    port: int | None = None
    run_relay: bool = True
    run_consumers: bool = True
    #: Periodic jobs (SLA escalation …) run where the relay runs; several replicas are safe.
    run_jobs: bool = True
    job_interval_s: float = Field(default=30.0, gt=0)
    relay_batch_size: int = Field(default=500, ge=1)
    #: Woken by a commit less than ``relay_busy_window_ms`` after its last batch, the relay waits this
    #: long for the commits right behind it, so one SELECT / produce / UPDATE carries several rows.
    #: An isolated commit is sent at once.
    relay_linger_ms: int = Field(default=5, ge=0)
    relay_busy_window_ms: int = Field(default=50, ge=0)
    #: Fallback poll when no NOTIFY arrives (e.g. a lost LISTEN connection).
    relay_poll_interval_s: float = Field(default=5.0, gt=0)
    relay_max_backoff_s: float = Field(default=10.0, gt=0)
    #: While records keep coming, a consumer commits its offsets at most this often (each commit a
    #: broker round trip); a quiet poll and a stop commit at once. Re-reads after a crash are harmless.
    consumer_commit_interval_ms: int = Field(default=100, ge=0)
    consumer_max_attempts: int = Field(default=5, ge=1)
    consumer_retry_base_s: float = Field(default=0.05, ge=0)
    jwt_secret: SecretStr = SecretStr(DEFAULT_JWT_SECRET)
    jwt_jwks_url: str | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    log_level: str = "INFO"
    log_json: bool = True

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        info = cls.__dict__.get("service")
        if info is not None:
            cls.service_name, cls.db_schema, cls.topic, cls.default_port = info.package, info.schema, info.topic, info.port

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> ServiceSettings:
        if self.environment == "production" and self.jwt_jwks_url is None:
            secret = self.jwt_secret.get_secret_value()
            if secret == DEFAULT_JWT_SECRET:
                raise ValueError("OPC_JWT_SECRET is the development default; set a real secret or OPC_JWT_JWKS_URL in production")
            if len(secret.encode()) < 32:
                raise ValueError("OPC_JWT_SECRET must be at least 32 bytes in production")
        return self

    @property
    def http_port(self) -> int:
        return self.port or self.default_port

    @property
    def kafka_servers(self) -> list[str]:
        return [s.strip() for s in self.kafka_bootstrap_servers.split(",") if s.strip()]

    @property
    def outbox_channel(self) -> str:
        return f"{self.db_schema}_outbox"

    @property
    def consumer_group(self) -> str:
        return f"opc-{self.service_name}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        common = EnvSettingsSource(settings_cls, env_prefix="OPC_")
        return (init_settings, env_settings, common, dotenv_settings, file_secret_settings)

    def safe_dump(self) -> dict[str, Any]:
        """Settings for logs: secrets masked, passwords cut from URLs."""
        data = self.model_dump()
        data["jwt_secret"] = "***"
        data["database_url"] = mask_url(self.database_url)
        return data


def mask_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a malformed URL must still never leak
        return "<unparseable url>"


def service_config(package: str) -> SettingsConfigDict:
    """A service's settings config: its own ``OPC_<PACKAGE>_`` prefix, from the list of services."""
    return SettingsConfigDict(env_prefix=service(package).env_prefix, extra="ignore")
