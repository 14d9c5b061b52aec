"""Events the registry publishes."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from opc_shared.contracts import topics
from opc_shared.contracts.base import EventContract


class FirmRegisteredV1(EventContract):
    """A firm now exists in the registry; other services open what they keep per firm."""

    event_type: ClassVar[str] = "opc.registry.firm.registered.v1"
    topic: ClassVar[str] = topics.REGISTRY

    firm_id: UUID
    name: str = Field(min_length=1, max_length=200)
    district: str = Field(min_length=1, max_length=64)
    community: str | None = Field(default=None, max_length=200)
    founder_name: str = Field(min_length=1, max_length=100)
    registered_at: datetime
