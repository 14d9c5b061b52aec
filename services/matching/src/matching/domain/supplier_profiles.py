"""Each registered firm becomes a supplier that scenario demands can be matched with."""

from __future__ import annotations

from opc_shared.contracts import FirmRegisteredV1

INITIAL_STATUS = "active"


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
