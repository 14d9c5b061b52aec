from datetime import date

import pytest

from registry.domain.errors import DomainError
from registry.domain.firm import check_status_change

TODAY = date(2026, 11, 20)


def test_allowed_changes() -> None:
    check_status_change("operating", date(2026, 5, 1), "suspended", date(2026, 10, 1), TODAY)
    check_status_change("suspended", date(2026, 10, 1), "operating", date(2026, 11, 1), TODAY)
    check_status_change("suspended", date(2026, 10, 1), "deregistered", date(2026, 11, 1), TODAY)


@pytest.mark.parametrize(
    ("current", "new", "effective", "field"),
    [
        ("deregistered", "operating", date(2026, 11, 1), None),
        ("operating", "operating", date(2026, 11, 1), None),
        ("operating", "suspended", date(2026, 4, 1), "effective_date"),
        ("operating", "suspended", date(2026, 12, 1), "effective_date"),
    ],
)
def test_refused_changes(current: str, new: str, effective: date, field: str | None) -> None:
    with pytest.raises(DomainError) as info:
        check_status_change(current, date(2026, 5, 1), new, effective, TODAY)
    assert [f[0] for f in info.value.fields] == ([field] if field else [])


def test_a_status_change_is_recorded_with_its_history_entry_and_event() -> None:
    import uuid

    from opc_shared.contracts.registry import FirmStatusChangedV1
    from registry.domain.firm import FirmStatus, StatusChange

    firm = FirmStatus(uuid.uuid4(), "wuhou", "operating", date(2026, 5, 1), version=1)
    firm.change("suspended", date(2026, 10, 1), "停业整顿", today=TODAY, actor="cw")
    assert (firm.status, firm.since) == ("suspended", date(2026, 10, 1))
    assert firm.new_changes == [StatusChange("suspended", date(2026, 10, 1), "停业整顿", "cw")]
    [event] = firm.events
    assert isinstance(event, FirmStatusChangedV1) and event.previous_status == "operating"
    with pytest.raises(DomainError):
        firm.change("operating", date(2026, 9, 1), None, today=TODAY, actor="cw")  # before the current status
    assert firm.status == "suspended" and len(firm.events) == 1
