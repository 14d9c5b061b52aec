import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from hashlib import blake2b
from zoneinfo import ZoneInfo

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from compute_ledger.domain.identifiers import uscc_problem
from compute_ledger.domain.usage import (
    Outcome,
    UsageRecord,
    Window,
    decode_usage,
    micros,
    parse_record,
    parse_typed,
    record_key,
)
from opc_devstack.ledger_flows import gpu, new_uscc, tokens

AT = datetime(2026, 11, 1, tzinfo=UTC)
WINDOW = Window.between(datetime(2020, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def test_uscc_check_character() -> None:
    good = new_uscc()
    assert uscc_problem(good) is None
    wrong = good[:-1] + ("1" if good[-1] != "1" else "2")
    assert "check character" in uscc_problem(wrong)
    assert "never appear" in uscc_problem(good[:-2] + "IO")


def test_same_body_same_hash_whatever_the_spelling_of_times() -> None:
    buyer = new_uscc()
    a = parse_record(gpu(buyer, "x", at=AT), 0, WINDOW)
    b = parse_record({**gpu(buyer, "x", at=AT), "started_at": "2026-11-01T08:00:00+08:00"}, 0, WINDOW)
    assert a.body_hash() == b.body_hash()
    assert a.body_hash() != parse_record(gpu(buyer, "x", at=AT, amount=1), 0, WINDOW).body_hash()
    # the model (slow path) and the fast path agree on the record they produce
    assert UsageRecord.model_validate(gpu(buyer, "x", at=AT)).record() == a


def test_fast_path_never_accepts_what_the_model_refuses() -> None:
    buyer = new_uscc()
    good = tokens(buyer, "y", at=AT)
    for bad in (
        {**good, "amount_fen": True},
        {**good, "amount_fen": -1},
        {**good, "input_tokens": 1.0},
        {**good, "started_at": "2026-11-01T08:00:00"},  # no time zone
        {**good, "extra": 1},
        {**good, "kind": "gpu"},
        {**good, "id": ""},
        {**good, "correction_of": "y"},
        {**good, "buyer_uscc": buyer[:-1] + ("0" if buyer[-1] != "0" else "1")},
        {**good, "pool_id": "not-a-uuid-but-thirty-six-characters!"},
    ):
        assert isinstance(parse_record(bad, 0, WINDOW), Outcome), bad


def test_rejections_name_the_field() -> None:
    buyer = new_uscc()
    bad = parse_record({**tokens(buyer, at=AT), "gpu_seconds": 5}, 3, WINDOW)
    assert isinstance(bad, Outcome) and bad.field == "records[3]" and bad.code == "invalid"
    backwards = parse_record({**gpu(buyer, at=AT), "ended_at": (AT - timedelta(1)).isoformat()}, 0, WINDOW)
    assert isinstance(backwards, Outcome)
    old = parse_record(gpu(buyer, at=datetime(2019, 1, 1, tzinfo=UTC)), 0, WINDOW)
    assert isinstance(old, Outcome) and old.code == "out_of_range"
    late = parse_record(gpu(buyer, at=datetime(2027, 1, 1, 7, 30, tzinfo=timezone(timedelta(hours=8)))), 0, WINDOW)
    assert isinstance(late, Outcome) and late.code == "out_of_range"  # ends 2027-01-01 00:30 UTC, after the window
    just_in = parse_record(gpu(buyer, at=datetime(2027, 1, 1, 7, 0, tzinfo=timezone(timedelta(hours=8)))), 0, WINDOW)
    assert not isinstance(just_in, Outcome)  # ends 2027-01-01 00:00 UTC: the window's last moment
    float_amount = parse_record({**gpu(buyer, at=AT), "amount_fen": 1.0}, 1, WINDOW)
    assert isinstance(float_amount, Outcome) and float_amount.field == "records[1].amount_fen"


def test_record_keys_are_per_vendor_and_compact() -> None:
    v1, v2 = uuid.uuid4(), uuid.uuid4()
    assert len(record_key(v1, "r")) == 16 and record_key(v1, "r") != record_key(v2, "r")
    # stored keys stay valid: the key is BLAKE2b-128 of the vendor id's bytes and the record id
    assert record_key(v1, "r-é") == blake2b(v1.bytes + "r-é".encode(), digest_size=16).digest()
    assert record_key(v1, "r") != record_key(v1, "r-é")


GOLDEN = {  # body hashes computed by the first implementation (float timestamps): stored hashes must stay valid
    "7b05dc669cf75e8467052fcc31a6d0b2": {
        "id": "golden-1", "buyer_uscc": "91510100MA6CGUGA1W", "kind": "gpu", "started_at": "2026-11-18T11:15:00.123457+08:00",
        "ended_at": "2026-11-18T11:25:00.999999+08:00", "gpu_model": "A800", "gpu_seconds": 600, "amount_fen": 200,
        "tax_rate_bp": 600,
    },
    "4927be566fa197f352df22644ff4fb03": {
        "id": "golden-2", "buyer_uscc": "91510100MA6CGUGA1W", "kind": "tokens", "pool_id": "6f1c1c8e-5d0a-4c36-9d7e-0a8b8f7e2d11",
        "started_at": "2038-01-19T03:14:07.999999+00:00", "ended_at": "2038-01-19T09:00:00.000001+05:45", "model": "qwen-max",
        "input_tokens": 1000000, "cached_input_tokens": 5, "output_tokens": 500000, "amount_fen": 720, "tax_rate_bp": 600,
        "correction_of": "golden-0",
    },
}  # fmt: skip


def test_body_hashes_of_earlier_releases_still_match() -> None:
    window = Window.between(datetime(2020, 1, 1, tzinfo=UTC), datetime(2041, 1, 1, tzinfo=UTC))
    for expected, raw in GOLDEN.items():
        assert parse_record(raw, 0, window).body_hash().hex() == expected
        assert UsageRecord.model_validate(raw).record().body_hash().hex() == expected


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 12, 31), timezones=st.timezones()),
)
def test_exact_microseconds_equal_the_float_formula_hashes_were_made_with(moment: datetime) -> None:
    assert micros(moment) == round(moment.timestamp() * 1_000_000)


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 12, 31)),
    st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1),
    st.booleans(),
)
def test_fixed_offset_moments_count_from_the_epoch_in_their_own_offset(naive: datetime, minutes: int, fresh_tz: bool) -> None:
    """The fixed-offset shortcut (the epoch written in the moment's own offset) gives the exact count,
    for an offset seen before and one met for the first time alike, and a zone whose offset changes
    (Asia/Shanghai had summer time until 1991, America/New_York has it) still counts from UTC."""
    tz = timezone(timedelta(minutes=minutes)) if fresh_tz else timezone(timedelta(hours=8))
    moment = naive.replace(tzinfo=tz)
    exact = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    assert micros(moment) == micros(moment) == exact
    for zone in ("Asia/Shanghai", "America/New_York"):
        zoned = naive.replace(tzinfo=ZoneInfo(zone))
        assert micros(zoned) == (zoned - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _body(*records: dict, type_: str = "usage.reported") -> bytes:
    return json.dumps({"type": type_, "timestamp": AT.isoformat(), "data": {"records": list(records)}}).encode()


def test_typed_decoder_gives_the_records_and_rejections_of_the_general_path() -> None:
    buyer = new_uscc()
    g, t = gpu(buyer, "g", at=AT), tokens(buyer, "t", at=AT)
    wrong_check = buyer[:-1] + ("0" if buyer[-1] != "0" else "1")
    variants = [
        g, t, {**t, "cached_input_tokens": 7}, {**t, "cached_input_tokens": None},
        {**g, "pool_id": str(uuid.uuid4())}, {**g, "pool_id": uuid.uuid4().hex}, {**g, "pool_id": None},
        {**t, "correction_of": "earlier"}, {**t, "correction_of": None},
        {**g, "started_at": "2026-11-01T08:00:00.1234567+08:00"},  # beyond microseconds: truncated, as before
        {**g, "started_at": "2026-11-01T08:00:00.9999999+08:00"},
        {**g, "started_at": "2026-11-01T08:00:00+0800"}, {**g, "started_at": "2026-11-01T08:00:00+08"},
        {**g, "started_at": "2026-11-01t08:00:00Z"}, {**g, "started_at": "2026-11-01T08:00:00"},
        {**g, "started_at": "2026-11-01 08:00:00Z"}, {**g, "started_at": "2026-11-01T08:00:00z"},
        {**g, "started_at": "2026-11-01T08:00:00.5+05:45"}, {**g, "started_at": "2026-11-01T08:00:00.000001-00:00"},
        {**g, "started_at": "2026-11-01T08:00:00.123456+14:00"}, {**g, "started_at": "2026-11-01T08:00:00,5Z"},
        {**g, "started_at": "2026-11-01T08:00:00.Z"}, {**g, "started_at": "2026-W44-7T08:00:00Z"},
        {**g, "buyer_uscc": wrong_check}, {**g, "buyer_uscc": buyer.lower()},
        {**t, "correction_of": "t"}, {**g, "ended_at": (AT - timedelta(1)).isoformat()},
        gpu(buyer, "old", at=datetime(2019, 1, 1, tzinfo=UTC)),
        {**g, "id": "😀" * 128}, {**g, "gpu_seconds": 10**12}, {**t, "output_tokens": 10**15}, {**g, "tax_rate_bp": 10_000},
    ]  # fmt: skip
    for i, raw in enumerate(variants):
        typed = decode_usage(_body(g, raw))
        assert typed is not None, raw
        general = parse_record(json.loads(json.dumps(raw)), 1, WINDOW)
        assert parse_typed(typed[1], 1, WINDOW) == general, (i, raw)


def test_moments_are_decoded_in_c_unless_a_fraction_has_more_than_6_digits() -> None:
    buyer = new_uscc()
    usual = decode_usage(_body(gpu(buyer, at=AT), tokens(buyer, at=AT)))
    assert usual is not None and all(isinstance(r.started_at, datetime) for r in usual)
    fine = {**gpu(buyer, at=AT), "started_at": "2026-11-01T08:00:00.1234567+08:00"}
    text = decode_usage(_body(gpu(buyer, at=AT), fine))
    assert text is not None and all(isinstance(r.started_at, str) for r in text)  # read by _moment: truncated
    assert parse_typed(text[1], 1, WINDOW).started_us == micros(datetime(2026, 11, 1, tzinfo=UTC)) + 123456


def test_typed_decoder_leaves_every_other_body_to_the_general_path() -> None:
    buyer = new_uscc()
    g, t = gpu(buyer, "g", at=AT), tokens(buyer, "t", at=AT)
    for records in (
        [{**g, "cached_input_tokens": 0}],  # optional on a gpu record: the general path decides
        [{**g, "model": None}], [{**t, "gpu_seconds": None}], [{**g, "extra": 1}], [{**g, "kind": "tpu"}],
        [{**g, "amount_fen": 1.0}], [{**g, "amount_fen": True}], [{**g, "amount_fen": "1"}], [{**g, "amount_fen": -1}],
        [{**g, "amount_fen": 10**13 + 1}], [{**g, "id": ""}], [{**g, "id": "x" * 129}], [{**g, "gpu_model": None}],
        [{**g, "pool_id": "not-a-uuid"}], [{**g, "started_at": 1}], [t, "not a record"], [], [g] * 1001,
    ):  # fmt: skip
        assert decode_usage(_body(*records)) is None, records[:1]
    assert decode_usage(_body(g, type_="invoice.issued")) is None
    assert decode_usage(b"not json") is None
    assert decode_usage(b'{"type": "usage.reported", "data": []}') is None


def test_outcomes_encode_as_before() -> None:
    outcomes = [
        Outcome("a", "accepted"), Outcome("b", "duplicate"), Outcome("c", "accepted", flags=("price_high", "over_quota")),
        Outcome(None, "rejected", "invalid", "records[3]", "bad"), Outcome("e", "rejected", "conflict", "records[4].id", "x"),
    ]  # fmt: skip
    assert json.loads(msgspec.json.encode(outcomes)) == [o.as_json() for o in outcomes]
