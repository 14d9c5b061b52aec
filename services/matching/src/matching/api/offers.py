from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Depends, Request

from matching.api.schemas import DeclineIn, OfferOut
from matching.service import dispatch
from matching.service.ranking import IndexHolder, holder_of
from opc_shared.auth import CurrentPrincipal
from opc_shared.service import ClockDep, UowDep

router = APIRouter(prefix="/offers", tags=["dispatch"])


def _holder(request: Request) -> IndexHolder:
    return holder_of(request.app.state)


@router.post("/{offer_id}/accept", response_model=OfferOut, summary="Take the order: the first acceptance wins")
async def accept(
    offer_id: UUID, principal: CurrentPrincipal, uow: UowDep, clock: ClockDep, holder: IndexHolder = Depends(_holder)
) -> OfferOut:
    return OfferOut.model_validate(await dispatch.accept(uow, principal=principal, clock=clock, offer_id=offer_id, holder=holder))


@router.post("/{offer_id}/decline", response_model=OfferOut)
async def decline(
    offer_id: UUID,
    principal: CurrentPrincipal,
    uow: UowDep,
    clock: ClockDep,
    body: DeclineIn | None = None,
    holder: IndexHolder = Depends(_holder),
) -> OfferOut:
    reason = body.reason if body else None
    return OfferOut.model_validate(
        await dispatch.decline(uow, principal=principal, clock=clock, offer_id=offer_id, reason=reason, holder=holder)
    )
