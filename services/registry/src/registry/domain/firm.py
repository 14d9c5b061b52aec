"""A registered firm (the foundation's minimal registration; the case workflow replaces it)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from opc_shared.contracts import FirmRegisteredV1
from opc_shared.contracts.base import EventContract


@dataclass
class Firm:
    id: uuid.UUID
    name: str
    district: str
    community: str | None
    founder_name: str
    registered_at: datetime
    events: list[EventContract] = field(default_factory=list, repr=False)

    @classmethod
    def register(cls, *, name: str, district: str, community: str | None, founder_name: str, now: datetime) -> Firm:
        firm = cls(
            id=uuid.uuid4(),
            name=name.strip(),
            district=district,
            community=(community or None) and community.strip(),
            founder_name=founder_name.strip(),
            registered_at=now,
        )
        firm.events.append(
            FirmRegisteredV1(
                firm_id=firm.id,
                name=firm.name,
                district=firm.district,
                community=firm.community,
                founder_name=firm.founder_name,
                registered_at=now,
            )
        )
        return firm
