from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class FirmRegistration(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200, examples=["成都某某智能科技有限公司"])
    district: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_-]*$", examples=["wuhou"])
    community: str | None = Field(default=None, max_length=200, examples=["1906 Creative Factory"])
    founder_name: str = Field(min_length=1, max_length=100, examples=["张三"])


class FirmOut(BaseModel):
    id: UUID
    name: str
    district: str
    community: str | None
    founder_name: str
    registered_at: datetime
    version: int
