from __future__ import annotations

from uuid import UUID

import msgspec
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic_core import to_json

from compute_ledger.api.deps import PartitionsDep, SettingsDep
from compute_ledger.domain.pricing import Tolerance
from compute_ledger.service import webhooks as service
from compute_ledger.service.ingest import Answer
from opc_shared.service import ClockDep, UowDep

router = APIRouter(tags=["vendor webhooks"])


@router.post(
    "/webhooks/vendors/{vendor_id}",
    summary="Signed vendor webhook (Standard Webhooks): usage.reported, invoice.issued, invoice.reversed",
    responses={401: {"description": "unsigned, badly signed or stale"}, 409: {"description": "webhook-id seen before"}},
)
async def vendor_webhook(
    vendor_id: UUID, request: Request, uow: UowDep, clock: ClockDep, settings: SettingsDep, partitions: PartitionsDep
) -> Response:
    policy = service.Policy(
        tolerance=Tolerance(settings.price_tolerance_bp, settings.price_tolerance_min_fen),
        invoice_tolerance_fen=settings.invoice_tolerance_fen,
        default_city=settings.default_city,
    )
    result = await service.receive(
        uow,
        request.app.state.db,
        vendor_id=vendor_id,
        body=await request.body(),
        headers=dict(request.headers),
        now=clock.now(),
        policy=policy,
        partitions=partitions,
    )
    # the per-record answer of a 1,000-record batch: encoded in C as it stands (msgspec structs);
    # the invoice answers are dicts, serialised in Rust (10x json.dumps)
    body = msgspec.json.encode(result) if isinstance(result, Answer) else to_json(result)
    return Response(body, media_type="application/json")
