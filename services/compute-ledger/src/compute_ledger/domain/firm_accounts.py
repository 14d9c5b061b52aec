"""Each registered firm gets a ledger account that vendors' usage reports are booked against."""

from __future__ import annotations

from opc_shared.contracts import FirmRegisteredV1

INITIAL_STATUS = "open"


def open_for(firm: FirmRegisteredV1, city: str | None = None) -> dict:
    """The row a newly registered firm gets. Its USCC ties vendors' records to it; its city decides
    which period closes apply (the community's city, else the ledger's default city)."""
    return {
        "firm_id": firm.firm_id,
        "firm_name": firm.name,
        "district": firm.district,
        "community": firm.community,
        "community_id": firm.community_id,
        "uscc": firm.uscc,
        "city": city,
        "status": INITIAL_STATUS,
        "registered_at": firm.registered_at,
    }
