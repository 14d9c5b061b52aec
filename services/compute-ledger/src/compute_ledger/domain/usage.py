"""A vendor's usage record as the webhook contract (DESIGN.md "Vendor webhooks") defines it,
and the per-record verdicts of one ``usage.reported`` batch.

A record id is unique per vendor for ever. It is kept as a compact 16-byte key
(BLAKE2b of vendor id + record id) beside a 16-byte hash of the record's normalised body, so
"the same id again" is told apart from "the same id with another body" without storing bodies twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from hashlib import blake2b
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator, model_validator

from compute_ledger.domain.identifiers import uscc_problem

MAX_RECORDS = 1000
Count = StrictInt


class UsageRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=128)
    buyer_uscc: str
    pool_id: UUID | None = None
    kind: Literal["gpu", "tokens"]
    started_at: AwareDatetime
    ended_at: AwareDatetime
    gpu_model: str | None = Field(default=None, min_length=1, max_length=128)
    gpu_seconds: Count | None = Field(default=None, ge=0, le=10**12)
    model: str | None = Field(default=None, min_length=1, max_length=128)
    input_tokens: Count | None = Field(default=None, ge=0, le=10**15)
    cached_input_tokens: Count | None = Field(default=None, ge=0, le=10**15)
    output_tokens: Count | None = Field(default=None, ge=0, le=10**15)
    amount_fen: Count = Field(ge=0, le=10**13)
    tax_rate_bp: Count = Field(ge=0, le=10_000)
    correction_of: str | None = Field(default=None, min_length=1, max_length=128)

    @field_validator("buyer_uscc")
    @classmethod
    def _uscc(cls, value: str) -> str:
        problem = uscc_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _shape(self) -> UsageRecord:
        if self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        if self.kind == "gpu":
            if self.gpu_model is None or self.gpu_seconds is None:
                raise ValueError("a gpu record needs gpu_model and gpu_seconds")
            if self.model is not None or self.input_tokens is not None or self.output_tokens is not None:
                raise ValueError("a gpu record carries no model or token counts")
        else:
            if self.model is None or self.input_tokens is None or self.output_tokens is None:
                raise ValueError("a tokens record needs model, input_tokens and output_tokens")
            if self.gpu_model is not None or self.gpu_seconds is not None:
                raise ValueError("a tokens record carries no gpu_model or gpu_seconds")
        if self.correction_of == self.id:
            raise ValueError("a record cannot correct itself")
        return self

    @property
    def resource(self) -> str:
        return self.gpu_model if self.kind == "gpu" else self.model  # type: ignore[return-value]

    def units(self) -> int:
        """What the record draws from a pool: GPU-seconds, or all tokens."""
        if self.kind == "gpu":
            return self.gpu_seconds or 0
        return (self.input_tokens or 0) + (self.cached_input_tokens or 0) + (self.output_tokens or 0)

    def body_hash(self) -> bytes:
        normalised = (
            self.buyer_uscc,
            str(self.pool_id or ""),
            self.kind,
            self.started_at.timestamp(),
            self.ended_at.timestamp(),
            self.resource,
            self.gpu_seconds or 0,
            self.input_tokens or 0,
            self.cached_input_tokens or 0,
            self.output_tokens or 0,
            self.amount_fen,
            self.tax_rate_bp,
            self.correction_of or "",
        )
        return blake2b(repr(normalised).encode(), digest_size=16).digest()


def record_key(vendor_id: UUID, record_id: str) -> bytes:
    return blake2b(vendor_id.bytes + record_id.encode(), digest_size=16).digest()


def message_key(vendor_id: UUID, webhook_id: str) -> bytes:
    return blake2b(b"msg:" + vendor_id.bytes + webhook_id.encode(), digest_size=16).digest()


@dataclass(frozen=True)
class Outcome:
    """One record's verdict. ``rejected`` carries a stable code and the field at fault."""

    id: str | None
    status: Literal["accepted", "duplicate", "rejected"]
    code: str | None = None
    field: str | None = None
    message: str | None = None
    flags: tuple[str, ...] = ()

    def as_json(self) -> dict:
        out: dict = {"id": self.id, "status": self.status}
        if self.code:
            out |= {"code": self.code, "field": self.field, "message": self.message}
        if self.flags:
            out["flags"] = list(self.flags)
        return out


def rejected(record_id: str | None, code: str, field: str, message: str) -> Outcome:
    return Outcome(record_id, "rejected", code, field, message)


def parse_record(raw: object, index: int, *, earliest: datetime, latest: datetime) -> UsageRecord | Outcome:
    """A valid record, or the rejection naming the first field at fault (``records[i].field``)."""
    rid = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
    try:
        record = UsageRecord.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err.get("loc", ()))
        field = f"records[{index}]" + (f".{loc}" if loc else "")
        return rejected(rid, "invalid", field, err.get("msg", "invalid"))
    if record.started_at < earliest or record.ended_at > latest:
        return rejected(
            record.id, "out_of_range", f"records[{index}].started_at", "the usage window lies outside what the ledger accepts"
        )
    return record
