from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel

from compute_ledger.api.deps import OPS, SettingsDep
from compute_ledger.domain.periods import ClosingRule
from compute_ledger.service import periods as service
from opc_shared.auth import require_roles
from opc_shared.pagination import PageDep, PageOut, paged
from opc_shared.service import ClockDep, UowDep
from opc_shared.times import UtcDateTime

router = APIRouter(prefix="/periods", tags=["periods"])
City = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9_-]+$")]
Month = Annotated[str, Path(pattern=r"^(20[2-9]\d)-(0[1-9]|1[0-2])$")]


class ClosedOut(BaseModel):
    city: str
    period: str
    firms: int
    invoiced_fen: int
    uninvoiced_fen: int
    closed_at: UtcDateTime


class PeriodOut(BaseModel):
    city: str
    period: str
    closed_at: UtcDateTime


@router.post(
    "/{city}/{period}/close",
    status_code=201,
    response_model=ClosedOut,
    dependencies=[require_roles("finance", "admin")],
    summary="Close a city's month after its grace period and freeze every firm's totals",
)
async def close(city: City, period: Month, uow: UowDep, clock: ClockDep, settings: SettingsDep) -> ClosedOut:
    result = await service.close(uow, city, period, now=clock.now(), rule=ClosingRule(settings.period_grace_days))
    return ClosedOut.model_validate(result)


@router.get("/{city}", response_model=PageOut[PeriodOut], dependencies=[OPS], summary="Closed periods, newest first")
async def list_closed(city: City, uow: UowDep, page: PageDep) -> PageOut[PeriodOut]:
    rows = await service.list_closed(uow, city)
    return PageOut.of(paged(rows, page, key=lambda r: r["period"], tag="periods", descending=True), PeriodOut)
