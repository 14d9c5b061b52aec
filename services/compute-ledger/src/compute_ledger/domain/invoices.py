"""E-invoices (数电票) that bill usage, and red-letter invoices (红字发票) that reverse them.

An invoice line bills usage records. It is valid when every record exists, is the latest
version, belongs to the invoice's vendor and buyer, is of the line's category, is billed by
no other valid line, and the records' amounts (tax included) add up to the line's amount plus
tax within ``tolerance_fen`` (1 fen by default: the line's VAT is rounded once on the invoice,
the records' amounts each carry their own rounding). The line's tax must be its amount × rate,
rounded half-up, within the same tolerance. A failing invoice is kept as ``mismatched`` with every
reason found; it counts for nothing until a corrected invoice (a new number) or a reversal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from hashlib import blake2b
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

from compute_ledger.domain.identifiers import uscc_problem

Fen = StrictInt
CATEGORY_OF_KIND = {"gpu": "compute", "tokens": "tokens"}


def _uscc(value: str) -> str:
    problem = uscc_problem(value)
    if problem:
        raise ValueError(problem)
    return value


class InvoiceLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    line_no: StrictInt = Field(ge=1, le=10_000)
    category: Literal["compute", "tokens"]
    description: str = Field(default="", max_length=500)
    amount_fen: Fen = Field(ge=0, le=10**13)
    tax_rate_bp: StrictInt = Field(ge=0, le=10_000)
    tax_fen: Fen = Field(ge=0, le=10**13)
    record_ids: list[str] = Field(default_factory=list, max_length=100_000)

    @property
    def total_fen(self) -> int:
        return self.amount_fen + self.tax_fen


class InvoiceIssued(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    number: str = Field(pattern=r"^\d{20}$")
    issued_on: date
    seller_uscc: str
    buyer_uscc: str
    lines: list[InvoiceLine] = Field(min_length=1, max_length=1000)
    total_fen: Fen = Field(ge=0)

    @field_validator("seller_uscc", "buyer_uscc")
    @classmethod
    def _uscc_ok(cls, value: str) -> str:
        return _uscc(value)

    @model_validator(mode="after")
    def _adds_up(self) -> InvoiceIssued:
        numbers = [line.line_no for line in self.lines]
        if len(set(numbers)) != len(numbers):
            raise ValueError("line_no repeats")
        if self.total_fen != sum(line.total_fen for line in self.lines):
            raise ValueError("total_fen must equal the sum of the lines' amount_fen + tax_fen")
        return self

    def body_hash(self) -> bytes:
        return blake2b(self.model_dump_json().encode(), digest_size=16).digest()


class ReversalLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    line_no: StrictInt = Field(ge=1, le=10_000)
    amount_fen: Fen = Field(ge=0, le=10**13)
    tax_fen: Fen = Field(ge=0, le=10**13)

    @model_validator(mode="after")
    def _something(self) -> ReversalLine:
        if self.amount_fen + self.tax_fen == 0:
            raise ValueError("a reversal line reverses a positive amount")
        return self


class InvoiceReversed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    number: str = Field(pattern=r"^\d{20}$")
    reverses: str = Field(pattern=r"^\d{20}$")
    issued_on: date
    reason: str = Field(default="", max_length=500)
    lines: list[ReversalLine] = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _distinct(self) -> InvoiceReversed:
        numbers = [line.line_no for line in self.lines]
        if len(set(numbers)) != len(numbers):
            raise ValueError("line_no repeats")
        if self.number == self.reverses:
            raise ValueError("a red-letter invoice has its own number")
        return self

    def body_hash(self) -> bytes:
        return blake2b(self.model_dump_json().encode(), digest_size=16).digest()


@dataclass(frozen=True)
class RecordFacts:
    """What matching needs to know about one usage record."""

    record_id: str
    buyer_uscc: str
    kind: str
    amount_fen: int
    superseded: bool
    billed: bool
    in_pool: bool


@dataclass(frozen=True)
class MatchProblem:
    code: str
    line_no: int | None
    detail: str
    record_id: str | None = None

    def as_json(self) -> dict:
        return {"code": self.code, "line_no": self.line_no, "record_id": self.record_id, "detail": self.detail}


def expected_tax(amount_fen: int, tax_rate_bp: int) -> int:
    return int((Decimal(amount_fen) * tax_rate_bp / 10_000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def match(
    invoice: InvoiceIssued, *, vendor_uscc: str, records: dict[str, RecordFacts], buyer_is_community: bool, tolerance_fen: int
) -> list[MatchProblem]:
    """Every reason the invoice does not bill its records; an empty list means it is valid.

    A community operator's invoice for a pool purchase bills no records (its lines have none);
    a firm's invoice lines must each bill at least one record."""
    problems: list[MatchProblem] = []
    if invoice.seller_uscc != vendor_uscc:
        problems.append(MatchProblem("seller_not_vendor", None, "seller_uscc is not the USCC of the vendor who sent it"))
    seen: set[str] = set()
    for line in invoice.lines:
        if abs(line.tax_fen - expected_tax(line.amount_fen, line.tax_rate_bp)) > tolerance_fen:
            problems.append(MatchProblem("tax_mismatch", line.line_no, f"tax_fen {line.tax_fen} is not amount × rate"))
        if buyer_is_community:
            if line.record_ids:
                problems.append(MatchProblem("pool_invoice_with_records", line.line_no, "a pool purchase bills no usage records"))
            continue
        if not line.record_ids:
            problems.append(MatchProblem("no_records", line.line_no, "the line bills no usage records"))
            continue
        total = 0
        for rid in line.record_ids:
            fact = records.get(rid)
            if rid in seen:
                problems.append(MatchProblem("record_billed_twice", line.line_no, "record listed twice in the invoice", rid))
                continue
            seen.add(rid)
            if fact is None:
                problems.append(MatchProblem("unknown_record", line.line_no, "no such record from this vendor", rid))
                continue
            total += fact.amount_fen
            if fact.buyer_uscc != invoice.buyer_uscc:
                problems.append(MatchProblem("other_buyer", line.line_no, "the record's buyer is not the invoice's buyer", rid))
            if CATEGORY_OF_KIND[fact.kind] != line.category:
                problems.append(
                    MatchProblem("wrong_category", line.line_no, f"a {fact.kind} record on a {line.category} line", rid)
                )
            if fact.superseded:
                problems.append(MatchProblem("superseded_record", line.line_no, "the record was restated by a later one", rid))
            if fact.billed:
                problems.append(MatchProblem("already_billed", line.line_no, "another valid invoice line bills it", rid))
            if fact.in_pool:
                problems.append(
                    MatchProblem("pool_record", line.line_no, "drawn from a community pool: billed to the community", rid)
                )
        if abs(total - line.total_fen) > tolerance_fen:
            problems.append(
                MatchProblem(
                    "amount_mismatch",
                    line.line_no,
                    f"the records add up to {total} fen, the line to {line.total_fen} fen (amount + tax)",
                )
            )
    return problems


@dataclass(frozen=True)
class LineLeft:
    category: str
    amount_fen: int
    tax_fen: int
    reversed_amount_fen: int
    reversed_tax_fen: int

    @property
    def amount_left(self) -> int:
        return self.amount_fen - self.reversed_amount_fen

    @property
    def tax_left(self) -> int:
        return self.tax_fen - self.reversed_tax_fen


def reversal_problems(reversal: InvoiceReversed, blue_lines: dict[int, LineLeft]) -> list[MatchProblem]:
    """A reversal may take from each line at most what is left of it, and only lines that exist."""
    problems = []
    for line in reversal.lines:
        blue = blue_lines.get(line.line_no)
        if blue is None:
            problems.append(MatchProblem("unknown_line", line.line_no, "the blue invoice has no such line"))
        elif line.amount_fen > blue.amount_left or line.tax_fen > blue.tax_left:
            problems.append(
                MatchProblem(
                    "over_reversal",
                    line.line_no,
                    f"reverses {line.amount_fen}+{line.tax_fen} fen, {blue.amount_left}+{blue.tax_left} fen is left",
                )
            )
    return problems


def fully_reversed(lines: dict[int, LineLeft]) -> bool:
    return all(line.amount_left == 0 and line.tax_left == 0 for line in lines.values())


def per_category(items: list[tuple[str, int, int]]) -> list[dict]:
    """(category, amount, tax) items summed per category, in a stable order."""
    sums: dict[str, list[int]] = {}
    for category, amount, tax in items:
        acc = sums.setdefault(category, [0, 0])
        acc[0] += amount
        acc[1] += tax
    return [{"category": c, "amount_fen": a, "tax_fen": t, "total_fen": a + t} for c, (a, t) in sorted(sums.items())]
