"""Events the compute ledger publishes. Subsidy consumes them; every firm event is keyed by the firm.

Amounts are integer fen. An invoice line's ``amount_fen`` excludes VAT, ``tax_fen`` is the VAT and
``total_fen`` = amount + tax; the subsidy policy decides which one is its base. Only invoiced usage
reaches these events ("no invoice, no subsidy"): there is never one event per usage record.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from opc_shared.contracts import topics
from opc_shared.contracts.base import EventContract
from opc_shared.times import UtcDateTime

Category = Literal["compute", "tokens"]


class _LedgerEvent(EventContract):
    topic: ClassVar[str] = topics.LEDGER


class CategoryAmount(BaseModel):
    """What one invoice (or a reversal of it) bills in one category, summed over its lines."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    category: Category
    amount_fen: int = Field(ge=0, description="excluding VAT")
    tax_fen: int = Field(ge=0)
    total_fen: int = Field(ge=0, description="amount_fen + tax_fen")

    @model_validator(mode="after")
    def _total_adds_up(self) -> CategoryAmount:
        if self.total_fen != self.amount_fen + self.tax_fen:
            raise ValueError("total_fen must equal amount_fen + tax_fen")
        return self


class InvoiceRecordedV1(_LedgerEvent):
    """A vendor's e-invoice (数电票) to a firm matched its usage records and now counts as invoiced cost."""

    event_type: ClassVar[str] = "opc.ledger.invoice.recorded.v1"

    firm_id: UUID
    district: str = Field(min_length=1, max_length=64)
    vendor_id: UUID
    vendor_uscc: str = Field(min_length=18, max_length=18)
    invoice_number: str = Field(pattern=r"^\d{20}$")
    #: The subsidy year is the Asia/Shanghai year of this date.
    issued_on: date
    categories: list[CategoryAmount] = Field(min_length=1)
    total_fen: int = Field(ge=0)
    recorded_at: UtcDateTime


class InvoiceReversedV1(_LedgerEvent):
    """A red-letter invoice (红字发票) reversed part or all of a recorded invoice: that much is uninvoiced again."""

    event_type: ClassVar[str] = "opc.ledger.invoice.reversed.v1"

    firm_id: UUID
    district: str = Field(min_length=1, max_length=64)
    vendor_id: UUID
    vendor_uscc: str = Field(min_length=18, max_length=18)
    #: The red-letter invoice's own number.
    invoice_number: str = Field(pattern=r"^\d{20}$")
    #: The blue invoice it reverses, and that invoice's issue date (which year's base it lowers).
    reverses: str = Field(pattern=r"^\d{20}$")
    reverses_issued_on: date
    issued_on: date
    reason: str = Field(default="", max_length=500)
    #: What was reversed, per category (positive amounts).
    categories: list[CategoryAmount] = Field(min_length=1)
    total_fen: int = Field(ge=0)
    #: True when nothing of the blue invoice is left after this reversal.
    fully_reversed: bool
    recorded_at: UtcDateTime


class PoolSettlementAttributedV1(_LedgerEvent):
    """A community pool's invoiced cost for a period, attributed to one firm in proportion to what it drew.

    The firm's shares over one settlement add up exactly to the pool's invoiced cost."""

    event_type: ClassVar[str] = "opc.ledger.pool_settlement.attributed.v1"

    firm_id: UUID
    district: str = Field(min_length=1, max_length=64)
    settlement_id: UUID
    pool_id: UUID
    community_id: UUID | None = None
    vendor_id: UUID
    #: The settled month, ``YYYY-MM`` (Asia/Shanghai).
    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    category: Category
    #: The community's invoice that bills the pool, and its issue date (the subsidy year).
    invoice_number: str = Field(pattern=r"^\d{20}$")
    issued_on: date
    amount_fen: int = Field(ge=0, description="excluding VAT")
    tax_fen: int = Field(ge=0)
    total_fen: int = Field(ge=0)
    settled_at: UtcDateTime


class PeriodClosedV1(_LedgerEvent):
    """A city's month closed after its grace period: per-firm totals are frozen in a snapshot."""

    event_type: ClassVar[str] = "opc.ledger.period.closed.v1"
    subject_field: ClassVar[str] = "period_key"

    city: str = Field(min_length=1, max_length=64)
    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    firms: int = Field(ge=0)
    invoiced_fen: int = Field(ge=0)
    uninvoiced_fen: int = Field(ge=0)
    closed_at: UtcDateTime

    @property
    def period_key(self) -> str:
        return f"period:{self.city}:{self.period}"


LEDGER_EVENTS: tuple[type[EventContract], ...] = (
    InvoiceRecordedV1,
    InvoiceReversedV1,
    PoolSettlementAttributedV1,
    PeriodClosedV1,
)
