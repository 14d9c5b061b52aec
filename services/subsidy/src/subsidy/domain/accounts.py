"""Each registered firm gets a subsidy account: the place its entitlements and claims will hang from."""

from __future__ import annotations

from opc_shared.contracts import FirmRegisteredV1

INITIAL_STATUS = "open"


def open_for(firm: FirmRegisteredV1) -> dict:
    """The row a newly registered firm gets."""
    return {
        "firm_id": firm.firm_id,
        "firm_name": firm.name,
        "district": firm.district,
        "community": firm.community,
        "status": INITIAL_STATUS,
        "registered_at": firm.registered_at,
    }
