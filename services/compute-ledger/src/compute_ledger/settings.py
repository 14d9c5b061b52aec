from typing import ClassVar

from pydantic import Field

from opc_shared.contracts import topics
from opc_shared.service_list import ServiceInfo, service
from opc_shared.settings import ServiceSettings, service_config


class ComputeLedgerSettings(ServiceSettings):
    model_config = service_config("compute_ledger")

    service: ClassVar[ServiceInfo] = service("compute_ledger")
    consumes: ClassVar[tuple[str, ...]] = (topics.REGISTRY,)

    #: A vendor's amount may differ from our rating by max(min_fen, rated × bp / 10000) before it is flagged.
    price_tolerance_bp: int = Field(default=100, ge=0, le=10_000)
    price_tolerance_min_fen: int = Field(default=1, ge=0)
    #: An invoice line's amount + tax may differ from its records' sum (and its tax from amount × rate) by this much.
    invoice_tolerance_fen: int = Field(default=1, ge=0)
    #: Days after a month's end during which late usage still lands in that month.
    period_grace_days: int = Field(default=5, ge=0, le=60)
    #: The city of firms whose community (and so city) the ledger has not heard of.
    default_city: str = Field(default="chengdu", min_length=1, max_length=64)
