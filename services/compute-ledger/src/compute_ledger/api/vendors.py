from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from compute_ledger.api.deps import ADMIN, OPS
from compute_ledger.api.schemas import PriceIn, PriceOut, RotateIn, VendorCreated, VendorIn, VendorOut
from compute_ledger.service import vendors as service
from opc_shared.idempotency import IdempotencyDep
from opc_shared.pagination import PageDep, PageOut, paged
from opc_shared.service import ClockDep, UowDep

router = APIRouter(prefix="/vendors", tags=["vendors"])


@router.post(
    "", status_code=201, response_model=VendorCreated, dependencies=[ADMIN], summary="Register a compliant compute provider"
)
async def register(body: VendorIn, clock: ClockDep, idem: IdempotencyDep):
    async def work(uow):
        vendor = await service.register(uow, name=body.name, uscc=body.uscc, kind=body.kind, now=clock.now())
        return 201, VendorCreated.model_validate(vendor)

    return await idem.execute(body, work)


@router.get("", response_model=PageOut[VendorOut], dependencies=[OPS])
async def list_vendors(uow: UowDep, page: PageDep) -> PageOut[VendorOut]:
    vendors = await service.list_all(uow)
    return PageOut.of(paged(vendors, page, key=lambda v: f"{v['created_at'].isoformat()}/{v['id']}", tag="vendors"), VendorOut)


@router.get("/{vendor_id}", response_model=VendorOut, dependencies=[OPS])
async def get_vendor(vendor_id: UUID, uow: UowDep) -> VendorOut:
    return VendorOut.model_validate(await service.get(uow, vendor_id))


@router.post(
    "/{vendor_id}/secrets",
    status_code=201,
    response_model=VendorCreated,
    dependencies=[ADMIN],
    summary="Rotate: a new secret now, the old ones until their expiry",
)
async def rotate(vendor_id: UUID, body: RotateIn, uow: UowDep, clock: ClockDep) -> VendorCreated:
    vendor = await service.rotate(uow, vendor_id, old_expires_at=body.old_secret_expires_at, now=clock.now())
    return VendorCreated.model_validate(vendor)


@router.post("/{vendor_id}/suspend", response_model=VendorOut, dependencies=[ADMIN])
async def suspend(vendor_id: UUID, uow: UowDep, clock: ClockDep) -> VendorOut:
    vendor = await service.set_status(uow, vendor_id, suspended=True, now=clock.now())
    return VendorOut.model_validate(vendor)


@router.post("/{vendor_id}/resume", response_model=VendorOut, dependencies=[ADMIN])
async def resume(vendor_id: UUID, uow: UowDep, clock: ClockDep) -> VendorOut:
    vendor = await service.set_status(uow, vendor_id, suspended=False, now=clock.now())
    return VendorOut.model_validate(vendor)


@router.post(
    "/{vendor_id}/prices",
    status_code=201,
    response_model=PriceOut,
    dependencies=[ADMIN],
    summary="A new price version for one GPU model or model, in force from effective_from",
)
async def add_price(vendor_id: UUID, body: PriceIn, uow: UowDep, clock: ClockDep) -> PriceOut:
    row = await service.add_price(uow, vendor_id, body=body.model_dump(), now=clock.now())
    return PriceOut.model_validate(row)


@router.get("/{vendor_id}/prices", response_model=PageOut[PriceOut], dependencies=[OPS])
async def list_prices(vendor_id: UUID, uow: UowDep, page: PageDep) -> PageOut[PriceOut]:
    rows = await service.prices(uow, vendor_id)
    key = lambda r: f"{r['kind']}/{r['resource']}/{r['version']:09d}"  # noqa: E731
    return PageOut.of(paged(rows, page, key=key, tag="prices"), PriceOut)
