from typing import ClassVar

from opc_shared.service_list import ServiceInfo, service
from opc_shared.settings import ServiceSettings, service_config


class RegistrySettings(ServiceSettings):
    model_config = service_config("registry")

    service: ClassVar[ServiceInfo] = service("registry")
    consumes: ClassVar[tuple[str, ...]] = ()
