from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from opc_shared.contracts import topics
from opc_shared.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="OPC_REGISTRY_", extra="ignore")

    service_name: ClassVar[str] = "registry"
    db_schema: ClassVar[str] = "registry"
    topic: ClassVar[str] = topics.REGISTRY
    consumes: ClassVar[tuple[str, ...]] = ()
    default_port: ClassVar[int] = 8001
