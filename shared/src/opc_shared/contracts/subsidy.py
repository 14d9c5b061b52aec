"""Events the subsidy service publishes: decisions and money moving. Keyed by the recipient."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from opc_shared.contracts import topics
from opc_shared.contracts.base import EventContract
from opc_shared.times import UtcDateTime

RecipientKind = Literal["firm", "community", "training_operator", "person"]


class _SubsidyEvent(EventContract):
    topic: ClassVar[str] = topics.SUBSIDY
    #: Subsidies go to firms, community operators, training operators or people; a firm recipient's
    #: id is its firm id, so one firm's money events stay in order with its other events.
    subject_field: ClassVar[str] = "recipient_id"

    recipient_kind: RecipientKind
    recipient_id: str = Field(min_length=1, max_length=64)
    district: str = Field(min_length=1, max_length=64)


class ClaimDecidedV1(_SubsidyEvent):
    event_type: ClassVar[str] = "opc.subsidy.claim.decided.v1"

    claim_id: UUID
    programme: str = Field(min_length=1, max_length=64)
    policy_set: str = Field(min_length=1, max_length=64)
    policy_version: str = Field(min_length=1, max_length=64)
    decision: Literal["approved", "partly_approved", "rejected"]
    requested_fen: int = Field(ge=0)
    approved_fen: int = Field(ge=0)
    reasons: list[str] = Field(default_factory=list)
    decided_at: UtcDateTime


class PaymentDisbursedV1(_SubsidyEvent):
    event_type: ClassVar[str] = "opc.subsidy.payment.disbursed.v1"

    payment_id: UUID
    batch_id: UUID
    #: Gross amount owed in this payment, what was netted against earlier over-payments, and what was paid.
    gross_fen: int = Field(ge=0)
    recovered_fen: int = Field(ge=0)
    amount_fen: int = Field(ge=0)
    bank_reference: str = Field(min_length=1, max_length=100)
    programmes: list[str] = Field(default_factory=list)
    paid_at: UtcDateTime


class PaymentRecoveredV1(_SubsidyEvent):
    """Money paid before and no longer owed (e.g. its invoice was reversed) was recovered."""

    event_type: ClassVar[str] = "opc.subsidy.payment.recovered.v1"

    recovery_id: UUID
    programme: str = Field(min_length=1, max_length=64)
    amount_fen: int = Field(ge=0)
    #: How it was recovered: netted against a later payment, or paid back by the recipient.
    method: Literal["netted", "repaid"]
    batch_id: UUID | None = None
    reason: str = Field(default="", max_length=500)
    recovered_at: UtcDateTime


class _ClaimReviewSlaV1(_SubsidyEvent):
    """The review of a claim on application is due in working days of the official calendar; the
    same ladder as the registry's licence clock: a warning one working day before, a breach after."""

    claim_id: UUID
    programme: str = Field(min_length=1, max_length=64)
    due_on: date
    #: The reviewer holding the claim, when it is under review.
    owner: str | None = Field(default=None, max_length=200)
    fired_at: UtcDateTime


class ClaimReviewSlaWarningV1(_ClaimReviewSlaV1):
    event_type: ClassVar[str] = "opc.subsidy.claim.review_sla_warning.v1"


class ClaimReviewSlaBreachedV1(_ClaimReviewSlaV1):
    event_type: ClassVar[str] = "opc.subsidy.claim.review_sla_breached.v1"


SUBSIDY_EVENTS: tuple[type[EventContract], ...] = (
    ClaimDecidedV1,
    PaymentDisbursedV1,
    PaymentRecoveredV1,
    ClaimReviewSlaWarningV1,
    ClaimReviewSlaBreachedV1,
)
