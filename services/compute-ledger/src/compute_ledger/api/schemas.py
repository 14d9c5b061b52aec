"""Request and response bodies of the ledger's API (never the table rows themselves)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from opc_shared.times import ApiDateTime, UtcDateTime

Rate = Decimal


class VendorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    uscc: str = Field(min_length=1, max_length=18)
    kind: Literal["gpu_cloud", "model_api", "both"]


class SecretOut(BaseModel):
    secret_id: UUID
    created_at: UtcDateTime
    expires_at: UtcDateTime | None


class VendorOut(BaseModel):
    id: UUID
    name: str
    uscc: str
    kind: str
    status: str
    created_at: UtcDateTime
    suspended_at: UtcDateTime | None = None
    secrets: list[SecretOut] = []


class VendorCreated(VendorOut):
    webhook_secret: str = Field(description="whsec_…, shown only in this answer")


class RotateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    old_secret_expires_at: ApiDateTime | None = Field(
        default=None, description="until when the secrets in use now keep working (default: one day, at most 30 days)"
    )


class PriceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["gpu", "tokens"]
    resource: str = Field(min_length=1, max_length=128, description="GPU model, or model name")
    effective_from: ApiDateTime
    fen_per_gpu_hour: Rate | None = Field(default=None, ge=0, max_digits=24, decimal_places=8)
    fen_per_m_input: Rate | None = Field(default=None, ge=0, max_digits=24, decimal_places=8)
    fen_per_m_cached_input: Rate | None = Field(default=None, ge=0, max_digits=24, decimal_places=8)
    fen_per_m_output: Rate | None = Field(default=None, ge=0, max_digits=24, decimal_places=8)


class PriceOut(BaseModel):
    price_id: UUID
    vendor_id: UUID
    kind: str
    resource: str
    version: int
    effective_from: UtcDateTime
    fen_per_gpu_hour: Rate | None
    fen_per_m_input: Rate | None
    fen_per_m_cached_input: Rate | None
    fen_per_m_output: Rate | None
