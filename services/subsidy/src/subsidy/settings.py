from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from opc_shared.contracts import topics
from opc_shared.settings import ServiceSettings


class SubsidySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="OPC_SUBSIDY_", extra="ignore")

    service_name: ClassVar[str] = "subsidy"
    db_schema: ClassVar[str] = "subsidy"
    topic: ClassVar[str] = topics.SUBSIDY
    consumes: ClassVar[tuple[str, ...]] = (topics.REGISTRY, topics.LEDGER, topics.MATCHING)
    default_port: ClassVar[int] = 8002
