"""What every ledger route needs: the caller's roles and the service's settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from compute_ledger.adapters.usage_store import PartitionKeeper
from compute_ledger.settings import ComputeLedgerSettings
from opc_shared.auth import require_roles

ADMIN = require_roles("admin")
STAFF = require_roles("caseworker", "reviewer", "finance", "admin")
OPS = require_roles("finance", "admin")

_PARTITIONS: dict[str, PartitionKeeper] = {}


async def _settings(request: Request) -> ComputeLedgerSettings:
    return request.app.state.settings


async def _partitions(request: Request) -> PartitionKeeper:
    return _PARTITIONS.setdefault(request.app.state.settings.database_url, PartitionKeeper())


SettingsDep = Annotated[ComputeLedgerSettings, Depends(_settings)]
PartitionsDep = Annotated[PartitionKeeper, Depends(_partitions)]
