from typing import ClassVar

from opc_shared.contracts import topics
from opc_shared.service_list import ServiceInfo, service
from opc_shared.settings import ServiceSettings, service_config


class MatchingSettings(ServiceSettings):
    model_config = service_config("matching")

    service: ClassVar[ServiceInfo] = service("matching")
    consumes: ClassVar[tuple[str, ...]] = (topics.REGISTRY,)
