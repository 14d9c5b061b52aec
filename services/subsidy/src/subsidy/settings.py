from typing import ClassVar

from opc_shared.contracts import topics
from opc_shared.service_list import ServiceInfo, service
from opc_shared.settings import ServiceSettings, service_config


class SubsidySettings(ServiceSettings):
    model_config = service_config("subsidy")

    service: ClassVar[ServiceInfo] = service("subsidy")
    consumes: ClassVar[tuple[str, ...]] = (topics.REGISTRY, topics.LEDGER, topics.MATCHING)
