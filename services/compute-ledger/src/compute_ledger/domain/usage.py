"""A vendor's usage record as the webhook contract (DESIGN.md "Vendor webhooks") defines it,
and the per-record verdicts of one ``usage.reported`` batch.

A record id is unique per vendor for ever. It is kept as a compact 16-byte key
(BLAKE2b of vendor id + record id) beside a 16-byte hash of the record's normalised body, so
"the same id again" is told apart from "the same id with another body" without storing bodies twice.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from hashlib import blake2b
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta, Struct
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator, model_validator

from compute_ledger.domain.identifiers import uscc_problem

MAX_RECORDS = 1000
Count = StrictInt


class UsageRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=128)
    buyer_uscc: str
    pool_id: UUID | None = None
    kind: Literal["gpu", "tokens"]
    started_at: AwareDatetime
    ended_at: AwareDatetime
    gpu_model: str | None = Field(default=None, min_length=1, max_length=128)
    gpu_seconds: Count | None = Field(default=None, ge=0, le=10**12)
    model: str | None = Field(default=None, min_length=1, max_length=128)
    input_tokens: Count | None = Field(default=None, ge=0, le=10**15)
    cached_input_tokens: Count | None = Field(default=None, ge=0, le=10**15)
    output_tokens: Count | None = Field(default=None, ge=0, le=10**15)
    amount_fen: Count = Field(ge=0, le=10**13)
    tax_rate_bp: Count = Field(ge=0, le=10_000)
    correction_of: str | None = Field(default=None, min_length=1, max_length=128)

    @field_validator("buyer_uscc")
    @classmethod
    def _uscc(cls, value: str) -> str:
        problem = uscc_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _shape(self) -> UsageRecord:
        if self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        if self.kind == "gpu":
            if self.gpu_model is None or self.gpu_seconds is None:
                raise ValueError("a gpu record needs gpu_model and gpu_seconds")
            if self.model is not None or self.input_tokens is not None or self.output_tokens is not None:
                raise ValueError("a gpu record carries no model or token counts")
        else:
            if self.model is None or self.input_tokens is None or self.output_tokens is None:
                raise ValueError("a tokens record needs model, input_tokens and output_tokens")
            if self.gpu_model is not None or self.gpu_seconds is not None:
                raise ValueError("a tokens record carries no gpu_model or gpu_seconds")
        if self.correction_of == self.id:
            raise ValueError("a record cannot correct itself")
        return self

    def record(self) -> Record:
        gpu = self.kind == "gpu"
        return Record(
            id=self.id,
            buyer_uscc=self.buyer_uscc,
            pool_id=self.pool_id,
            kind=self.kind,
            started_at=self.started_at,
            ended_at=self.ended_at,
            resource=(self.gpu_model if gpu else self.model) or "",
            gpu_seconds=self.gpu_seconds or 0,
            input_tokens=self.input_tokens or 0,
            cached_input_tokens=self.cached_input_tokens or 0,
            output_tokens=self.output_tokens or 0,
            amount_fen=self.amount_fen,
            tax_rate_bp=self.tax_rate_bp,
            correction_of=self.correction_of,
            started_us=micros(self.started_at),
            ended_us=micros(self.ended_at),
        )


class Record(Struct, gc=False):
    """A valid usage record as the ledger processes it (``UsageRecord`` is its contract).

    A msgspec struct: a batch makes one per record, and its constructor runs in C (~0.05 µs, against
    ~0.15 µs for a slotted dataclass); it holds only scalars, so the cyclic collector need not track it."""

    id: str
    buyer_uscc: str
    pool_id: UUID | None
    kind: str
    started_at: datetime
    ended_at: datetime
    resource: str
    gpu_seconds: int
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    amount_fen: int
    tax_rate_bp: int
    correction_of: str | None
    #: ``started_at`` and ``ended_at`` as exact microseconds since the Unix epoch (worked out once: the
    #: body hash and the stored row both need them)
    started_us: int
    ended_us: int

    def units(self) -> int:
        return pool_units(self.kind, self.gpu_seconds, self.input_tokens, self.cached_input_tokens, self.output_tokens)

    def body_hash(self) -> bytes:
        """16 bytes identifying the normalised body: the same record spelled differently (time zones,
        key order) hashes the same; any change of a value does not."""
        normalised = (
            f"{self.buyer_uscc}|{self.pool_id or ''}|{self.kind}|{self.started_us}|{self.ended_us}|"
            f"{self.resource}|{self.gpu_seconds}|{self.input_tokens}|{self.cached_input_tokens}|{self.output_tokens}|"
            f"{self.amount_fen}|{self.tax_rate_bp}|{self.correction_of or ''}"
        )
        digest = _BLAKE2B_16.copy()
        digest.update(normalised.encode())
        return digest.digest()


def pool_units(kind: str, gpu_seconds: int, input_tokens: int, cached_input_tokens: int, output_tokens: int) -> int:
    """What a record draws from a pool: GPU-seconds, or all tokens."""
    if kind == "gpu":
        return gpu_seconds
    return input_tokens + cached_input_tokens + output_tokens


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros(moment: datetime) -> int:
    """Exact microseconds since the Unix epoch of an aware moment.

    Body hashes were first computed as ``round(moment.timestamp() * 1_000_000)``; that float is
    within 0.25 µs of the exact value below 2⁵¹ µs (the year 2041), so both give the same integer
    for every moment the ledger accepts (up to a day ahead of now), and stored hashes stay valid.

    A moment with a fixed UTC offset (``datetime.timezone``, what RFC 3339 text decodes to) is measured
    from the epoch written in that same offset: two datetimes sharing one tzinfo object subtract as
    naive ones, without a ``utcoffset`` call on either side (~0.2 µs instead of ~0.47 for a ``+08:00``
    moment; a record has two). The difference is the same, both sides carrying the same fixed offset.
    A moment in a zone whose offset changes (``zoneinfo``) is measured from the UTC epoch."""
    tz = moment.tzinfo
    epoch = (_EPOCH_IN.get(tz) or _epoch_in(tz)) if type(tz) is timezone else _EPOCH
    return (moment - epoch) // _MICROSECOND


#: The Unix epoch written in each fixed offset met so far. RFC 3339 offsets are whole minutes within
#: ±24 h; the bound keeps odd ones (seconds offsets from ``datetime.fromisoformat``) from growing it.
_EPOCH_IN: dict[timezone, datetime] = {}
_EPOCHS_KEPT = 256


def _epoch_in(tz: timezone) -> datetime:
    """The epoch in ``tz``, kept for the next moment in it (past the bound: the UTC epoch, exact too)."""
    if len(_EPOCH_IN) >= _EPOCHS_KEPT:
        return _EPOCH
    epoch = _EPOCH_IN[tz] = _EPOCH.astimezone(tz)
    return epoch


#: BLAKE2b with a 16-byte digest, copied for each hash: the same digests as ``blake2b(data,
#: digest_size=16)``, without the constructor's parameter handling (~0.25 µs a hash, two a record)
_BLAKE2B_16 = blake2b(digest_size=16)


def record_key(vendor_id: UUID, record_id: str) -> bytes:
    return record_keys(vendor_id)(record_id)


def record_keys(vendor_id: UUID) -> Callable[[str], bytes]:
    """``record_key`` for one vendor's records: the vendor id is hashed in once, each record id after it
    (the same digests: BLAKE2b is fed the same bytes)."""
    vendor = _BLAKE2B_16.copy()
    vendor.update(vendor_id.bytes)

    def key(record_id: str) -> bytes:
        digest = vendor.copy()
        digest.update(record_id.encode())
        return digest.digest()

    return key


def message_key(vendor_id: UUID, webhook_id: str) -> bytes:
    return blake2b(b"msg:" + vendor_id.bytes + webhook_id.encode(), digest_size=16).digest()


class Outcome(Struct, omit_defaults=True):
    """One record's verdict. ``rejected`` carries a stable code and the field at fault.

    A msgspec struct: built in C (a batch builds one per record) and encoded straight into the
    answer, ``{"id", "status"}`` plus ``code``, ``field`` and ``message`` when rejected and ``flags``
    when flagged (the defaults are left out, as ``as_json`` does)."""

    id: str | None
    status: Literal["accepted", "duplicate", "rejected"]
    code: str | None = None
    field: str | None = None
    message: str | None = None
    flags: tuple[str, ...] = ()

    def as_json(self) -> dict:
        out: dict = {"id": self.id, "status": self.status}
        if self.code:
            out |= {"code": self.code, "field": self.field, "message": self.message}
        if self.flags:
            out["flags"] = list(self.flags)
        return out


def rejected(record_id: str | None, code: str, field: str, message: str) -> Outcome:
    return Outcome(record_id, "rejected", code, field, message)


@dataclass(frozen=True, slots=True)
class Window:
    """The usage windows the ledger accepts, in exact microseconds: a record's times are compared as
    integers (comparing aware datetimes of different offsets costs ~0.4 µs each, ~1 ms a batch)."""

    earliest_us: int
    latest_us: int

    @classmethod
    def between(cls, earliest: datetime, latest: datetime) -> Window:
        return cls(micros(earliest), micros(latest))


def parse_record(raw: object, index: int, window: Window) -> Record | Outcome:
    """A valid record, or the rejection naming the first field at fault (``records[i].field``).

    The common shape is checked by a fast path that accepts only what the contract model accepts;
    anything else goes through the model, which decides and names the field."""
    record = _fast(raw)
    if record is None:
        rid = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
        try:
            record = UsageRecord.model_validate(raw).record()
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err.get("loc", ()))
            field = f"records[{index}]" + (f".{loc}" if loc else "")
            return rejected(rid, "invalid", field, err.get("msg", "invalid"))
    if record.started_us < window.earliest_us or record.ended_us > window.latest_us:
        return _out_of_range(record.id, index)
    return record


def _out_of_range(record_id: str, index: int) -> Outcome:
    field = f"records[{index}].started_at"
    return rejected(record_id, "out_of_range", field, "the usage window lies outside what the ledger accepts")


_GPU_KEYS = frozenset(
    {"id", "buyer_uscc", "kind", "started_at", "ended_at", "gpu_model", "gpu_seconds", "amount_fen", "tax_rate_bp"}
)
_TOKEN_KEYS = frozenset(
    {"id", "buyer_uscc", "kind", "started_at", "ended_at", "model", "input_tokens", "cached_input_tokens", "output_tokens",
     "amount_fen", "tax_rate_bp"}
)  # fmt: skip
_OPTIONAL = frozenset({"pool_id", "correction_of", "cached_input_tokens"})
#: per kind: (keys every record must have, keys a record may have), worked out once
_SHAPES = {kind: (keys - _OPTIONAL, keys | _OPTIONAL) for kind, keys in (("gpu", _GPU_KEYS), ("tokens", _TOKEN_KEYS))}


@lru_cache(maxsize=65_536)
def _uscc_ok(value: str) -> bool:
    return uscc_problem(value) is None


def _count(value: object, high: int) -> int | None:
    return value if type(value) is int and 0 <= value <= high else None


def _moment(value: object) -> datetime | None:
    if type(value) is not str or len(value) < 20 or value[10] != "T":
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _fast(raw: object) -> Record | None:
    """The usual record, checked without the model; None means "let the model judge"."""
    if type(raw) is not dict:
        return None
    kind = raw.get("kind")
    shape = _SHAPES.get(kind) if type(kind) is str else None
    if shape is None or not shape[0] <= raw.keys() or not raw.keys() <= shape[1]:
        return None
    rid, buyer, resource = raw["id"], raw["buyer_uscc"], raw["gpu_model" if kind == "gpu" else "model"]
    if not (type(rid) is str and 1 <= len(rid) <= 128 and type(resource) is str and 1 <= len(resource) <= 128):
        return None
    if type(buyer) is not str or not _uscc_ok(buyer):
        return None
    correction_of = raw.get("correction_of")
    if correction_of is not None and not (type(correction_of) is str and 1 <= len(correction_of) <= 128 and correction_of != rid):
        return None
    pool_id = raw.get("pool_id")
    if pool_id is not None:
        if type(pool_id) is not str or len(pool_id) != 36:
            return None
        try:
            pool_id = UUID(pool_id)
        except ValueError:
            return None
    started, ended = _moment(raw["started_at"]), _moment(raw["ended_at"])
    if started is None or ended is None:
        return None
    started_us, ended_us = micros(started), micros(ended)
    amount, rate = _count(raw["amount_fen"], 10**13), _count(raw["tax_rate_bp"], 10_000)
    if ended_us < started_us or amount is None or rate is None:
        return None
    if kind == "gpu":
        seconds = _count(raw["gpu_seconds"], 10**12)
        if seconds is None:
            return None
        counts = (seconds, 0, 0, 0)
    else:
        inp, out = _count(raw["input_tokens"], 10**15), _count(raw["output_tokens"], 10**15)
        cached = _count(raw.get("cached_input_tokens", 0), 10**15)
        if inp is None or out is None or cached is None:
            return None
        counts = (0, inp, cached, out)
    return Record(rid, buyer, pool_id, kind, started, ended, resource, *counts, amount, rate, correction_of, started_us, ended_us)


# --- the typed decoder: a whole ``usage.reported`` body decoded and checked in C (msgspec) -------------
#
# It takes only bodies whose every record the fast path above would take too, and produces the same
# records: the same keys per kind (a gpu record's optional ``cached_input_tokens`` is left to the
# general path, as are explicit nulls of fields a kind does not carry), the same types and bounds
# (JSON integers only, no booleans or floats), and the same moments. Moments are decoded by msgspec
# as aware datetimes (RFC 3339: every form it takes, the model takes with the same microseconds,
# golden in the tests) unless the body holds a fraction of a second of more than 6 digits anywhere:
# msgspec rounds those where the model truncates, which would change body hashes, so such a body is
# decoded with its moments as text, read by the same ``_moment`` as the fast path (as is a body
# whose moments msgspec refuses, such as ``+08`` offsets the fast path takes). The checks msgspec
# cannot express (the USCC's check character, ``ended_at`` ≥ ``started_at``, a record not correcting
# itself) run per record below; a record failing one goes to ``parse_record``, which words the
# rejection exactly as before. A body the decoder refuses as a whole (any other type, any record it
# does not take) is parsed the general way.

_Text = Annotated[str, Meta(min_length=1, max_length=128)]
_Seconds = Annotated[int, Meta(ge=0, le=10**12)]
_Tokens = Annotated[int, Meta(ge=0, le=10**15)]
_Fen = Annotated[int, Meta(ge=0, le=10**13)]
_BasisPoints = Annotated[int, Meta(ge=0, le=10_000)]


class _GpuRecord(Struct, tag_field="kind", tag="gpu", forbid_unknown_fields=True):
    id: _Text
    buyer_uscc: str
    started_at: str
    ended_at: str
    gpu_model: _Text
    gpu_seconds: _Seconds
    amount_fen: _Fen
    tax_rate_bp: _BasisPoints
    pool_id: UUID | None = None
    correction_of: _Text | None = None


class _TokensRecord(Struct, tag_field="kind", tag="tokens", forbid_unknown_fields=True):
    id: _Text
    buyer_uscc: str
    started_at: str
    ended_at: str
    model: _Text
    input_tokens: _Tokens
    output_tokens: _Tokens
    amount_fen: _Fen
    tax_rate_bp: _BasisPoints
    cached_input_tokens: _Tokens | None = None
    pool_id: UUID | None = None
    correction_of: _Text | None = None


_Moment = Annotated[datetime, Meta(tz=True)]


class _GpuRecordAt(_GpuRecord, tag_field="kind", tag="gpu", forbid_unknown_fields=True):
    started_at: _Moment
    ended_at: _Moment


class _TokensRecordAt(_TokensRecord, tag_field="kind", tag="tokens", forbid_unknown_fields=True):
    started_at: _Moment
    ended_at: _Moment


class _UsageData(Struct):
    records: Annotated[list[_GpuRecord | _TokensRecord], Meta(min_length=1, max_length=MAX_RECORDS)]


class _UsageBody(Struct):
    type: Literal["usage.reported"]
    data: _UsageData


class _UsageDataAt(Struct):
    records: Annotated[list[_GpuRecordAt | _TokensRecordAt], Meta(min_length=1, max_length=MAX_RECORDS)]


class _UsageBodyAt(Struct):
    type: Literal["usage.reported"]
    data: _UsageDataAt


_USAGE_BODY = msgspec.json.Decoder(_UsageBody)
_USAGE_BODY_AT = msgspec.json.Decoder(_UsageBodyAt)
_BEYOND_MICROSECONDS = re.compile(rb"\.[0-9]{7}")
TypedRecord = _GpuRecord | _TokensRecord


def decode_usage(body: bytes) -> list[TypedRecord] | None:
    """The records of a ``usage.reported`` body the typed decoder takes whole; None for any other body
    (another type, not JSON, a record it does not take): the caller parses that one the general way."""
    if _BEYOND_MICROSECONDS.search(body) is None:
        with contextlib.suppress(msgspec.MsgspecError):
            return _USAGE_BODY_AT.decode(body).data.records
    try:
        return _USAGE_BODY.decode(body).data.records
    except msgspec.MsgspecError:
        return None


def parse_typed(typed: TypedRecord, index: int, window: Window) -> Record | Outcome:
    """``parse_record`` for a record the typed decoder took: the same record, or the same rejection."""
    started, ended = typed.started_at, typed.ended_at
    if type(started) is str:
        started, ended = _moment(started), _moment(ended)
    rid, correction_of = typed.id, typed.correction_of
    if started is None or ended is None or correction_of == rid or not _uscc_ok(typed.buyer_uscc):
        return parse_record(msgspec.to_builtins(typed), index, window)
    started_us, ended_us = micros(started), micros(ended)
    if ended_us < started_us:
        return parse_record(msgspec.to_builtins(typed), index, window)
    if started_us < window.earliest_us or ended_us > window.latest_us:
        return _out_of_range(rid, index)
    if isinstance(typed, _GpuRecord):
        kind, resource, counts = "gpu", typed.gpu_model, (typed.gpu_seconds, 0, 0, 0)
    else:
        kind, resource = "tokens", typed.model
        counts = (0, typed.input_tokens, typed.cached_input_tokens or 0, typed.output_tokens)
    return Record(rid, typed.buyer_uscc, typed.pool_id, kind, started, ended, resource, *counts, typed.amount_fen,
                  typed.tax_rate_bp, correction_of, started_us, ended_us)  # fmt: skip
