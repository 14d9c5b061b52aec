from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from opc_shared.contracts import topics
from opc_shared.settings import ServiceSettings


class MatchingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="OPC_MATCHING_", extra="ignore")

    service_name: ClassVar[str] = "matching"
    db_schema: ClassVar[str] = "matching"
    topic: ClassVar[str] = topics.MATCHING
    consumes: ClassVar[tuple[str, ...]] = (topics.REGISTRY,)
    default_port: ClassVar[int] = 8003
