"""CloudEvents 1.0 envelope (JSON structured mode) and its Kafka record form."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"


class CloudEvent(BaseModel):
    """The envelope every event travels in. ``subject`` is also the Kafka record key."""

    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(pattern=r"^opc\.[a-z_]+\.[a-z_.]+\.v\d+$")
    subject: str = Field(min_length=1)
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str | None = None
    #: W3C trace context, CloudEvents distributed-tracing extension.
    traceparent: str | None = None
    data: dict[str, Any]

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> CloudEvent:
        return cls.model_validate_json(raw)

    def kafka_headers(self) -> list[tuple[str, bytes]]:
        headers = [("content-type", CONTENT_TYPE.encode()), ("ce_type", self.type.encode()), ("ce_id", self.id.encode())]
        if self.traceparent:
            headers.append(("traceparent", self.traceparent.encode()))
        return headers


def build_event(
    *,
    event_type: str,
    source: str,
    subject: str,
    data: dict[str, Any],
    traceparent: str | None = None,
    time: datetime | None = None,
    event_id: str | None = None,
) -> CloudEvent:
    return CloudEvent(
        id=event_id or str(uuid.uuid4()),
        source=source,
        type=event_type,
        subject=subject,
        time=time or datetime.now(UTC),
        dataschema=f"urn:opc:schema:{event_type}",
        traceparent=traceparent,
        data=json.loads(json.dumps(data, default=str)),
    )
