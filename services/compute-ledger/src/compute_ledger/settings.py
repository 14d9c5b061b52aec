from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from opc_shared.contracts import topics
from opc_shared.settings import ServiceSettings


class ComputeLedgerSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="OPC_COMPUTE_LEDGER_", extra="ignore")

    service_name: ClassVar[str] = "compute_ledger"
    db_schema: ClassVar[str] = "ledger"
    topic: ClassVar[str] = topics.LEDGER
    consumes: ClassVar[tuple[str, ...]] = (topics.REGISTRY,)
    default_port: ClassVar[int] = 8004
