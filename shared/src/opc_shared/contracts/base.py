"""Base class of every event contract: the payload (``data``) of one versioned event type."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class EventContract(BaseModel):
    """Consumers read tolerantly (unknown fields ignored) so producers can add optional fields
    within a version; removing or retyping a field needs a new ``vN`` type."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: ClassVar[str]
    topic: ClassVar[str]
    #: Name of the field whose value is the CloudEvents subject and the Kafka key.
    subject_field: ClassVar[str] = "firm_id"

    @property
    def subject(self) -> str:
        return str(getattr(self, self.subject_field))

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
