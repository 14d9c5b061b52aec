import pytest

from opc_shared.events import CloudEvent, build_event
from opc_shared.money import yuan_to_fen
from opc_shared.tracing import child_traceparent, parse_trace_id


def test_envelope_round_trips_and_carries_trace_headers() -> None:
    tp = child_traceparent(None)
    event = build_event(
        event_type="opc.registry.firm.registered.v1",
        source="/opc/registry",
        subject="f1",
        data={"amount_fen": 100},
        traceparent=tp,
    )
    again = CloudEvent.from_bytes(event.to_bytes())
    assert again == event
    headers = dict(again.kafka_headers())
    assert headers["traceparent"] == tp.encode()
    assert headers["ce_type"] == b"opc.registry.firm.registered.v1"


def test_event_type_must_be_versioned() -> None:
    with pytest.raises(ValueError, match="type"):
        build_event(event_type="opc.registry.firm.registered", source="/x", subject="f", data={})


def test_child_traceparent_keeps_the_trace() -> None:
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    child = child_traceparent(parent)
    assert parse_trace_id(child) == "0af7651916cd43dd8448eb211c80319c"
    assert child != parent
    assert parse_trace_id(child_traceparent("garbage")) is not None


def test_money_is_integer_fen() -> None:
    assert yuan_to_fen(5_000_000) == 500_000_000
    with pytest.raises(TypeError):
        yuan_to_fen(1.5)  # type: ignore[arg-type]
