from datetime import UTC, datetime

from opc_shared.contracts import FirmRegisteredV1
from registry.domain.firm import Firm


def test_registering_a_firm_raises_firm_registered() -> None:
    now = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    firm = Firm.register(name="  成都某某科技  ", district="wuhou", community=" 1906 ", founder_name="李雷", now=now)
    assert firm.name == "成都某某科技" and firm.community == "1906"
    [event] = firm.events
    assert isinstance(event, FirmRegisteredV1)
    assert event.firm_id == firm.id and event.registered_at == now and event.subject == str(firm.id)


def test_blank_community_is_none() -> None:
    firm = Firm.register(name="n", district="wuhou", community="", founder_name="f", now=datetime.now(UTC))
    assert firm.community is None
