from datetime import UTC, datetime
from uuid import uuid4

from opc_shared.contracts import FirmRegisteredV1
from subsidy.domain.accounts import INITIAL_STATUS, open_for


def test_a_registered_firm_opens_with_the_initial_status() -> None:
    firm = FirmRegisteredV1(
        firm_id=uuid4(),
        name="n",
        district="gaoxin",
        community=None,
        founder_name="f",
        registered_at=datetime(2026, 1, 5, tzinfo=UTC),
    )
    row = open_for(firm)
    assert row["firm_id"] == firm.firm_id and row["district"] == "gaoxin" and row["status"] == INITIAL_STATUS
