"""CloudEvents 1.0 envelope (JSON structured mode) and its Kafka record form."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from opc_shared.times import UtcDateTime

#: Longest ``id`` and ``source`` accepted: the inbox keys on them.
EVENT_KEY_LENGTH = 256
CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"


class CloudEvent(BaseModel):
    """The envelope every event travels in. ``subject`` is also the Kafka record key."""

    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    #: Unique per ``source``; an opaque string (compared exactly as sent, never re-spelled).
    id: str = Field(min_length=1, max_length=EVENT_KEY_LENGTH)
    source: str = Field(min_length=1, max_length=EVENT_KEY_LENGTH)
    type: str = Field(pattern=r"^opc\.[a-z_]+\.[a-z_.]+\.v\d+$")
    subject: str = Field(min_length=1)
    time: UtcDateTime
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str | None = None
    #: W3C trace context, CloudEvents distributed-tracing extension.
    traceparent: str | None = None
    #: Extension: this event's number among its subject's events (1, 2, …, in commit order),
    #: assigned by the producer's unit of work; consumers use it to refuse late older events.
    subjectseq: int | None = Field(default=None, ge=1)
    data: dict[str, Any]

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> CloudEvent:
        return cls.model_validate_json(raw)

    def kafka_headers(self) -> list[tuple[str, bytes]]:
        return kafka_headers(self.id, self.type, self.source, self.traceparent)


def kafka_headers(event_id: str, event_type: str, source: str, traceparent: str | None = None) -> list[tuple[str, bytes]]:
    """The record's headers: the structured-mode content type, and the CloudEvents Kafka binding's
    ``ce_`` attributes, so a record whose value cannot be read is still known by id, type and source."""
    headers = [
        ("content-type", CONTENT_TYPE.encode()),
        ("ce_specversion", b"1.0"),
        ("ce_id", event_id.encode()),
        ("ce_type", event_type.encode()),
        ("ce_source", source.encode()),
    ]
    if traceparent:
        headers.append(("traceparent", traceparent.encode()))
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
