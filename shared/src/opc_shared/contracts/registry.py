"""Events the registry publishes, each keyed by the firm it concerns (DESIGN.md), so one firm's
history, from the case that registers it on, is one ordered stream: a case reserves its firm's
id when it is opened, and every case event carries it. Communities and calendar years concern
no one firm and are keyed by themselves."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from opc_shared.contracts import topics
from opc_shared.contracts.base import EventContract
from opc_shared.times import UtcDateTime


class _RegistryEvent(EventContract):
    topic: ClassVar[str] = topics.REGISTRY


class _CaseEvent(_RegistryEvent):
    case_id: UUID
    #: The firm this case registers: reserved when the case is opened, the firm's id once licensed.
    firm_id: UUID
    district: str


class FirmRegisteredV1(_RegistryEvent):
    """A firm now exists in the registry (its licence was issued); other services open what they keep per firm."""

    event_type: ClassVar[str] = "opc.registry.firm.registered.v1"

    firm_id: UUID
    name: str = Field(min_length=1, max_length=200)
    district: str = Field(min_length=1, max_length=64)
    community: str | None = Field(default=None, max_length=200)
    #: The community hosting the firm's workstation (see ``CommunityRegisteredV1``), when it has one.
    community_id: UUID | None = None
    founder_name: str = Field(min_length=1, max_length=100)
    registered_at: UtcDateTime
    uscc: str | None = Field(default=None, min_length=18, max_length=18)
    case_id: UUID | None = None
    business_lines: list[str] = Field(default_factory=list)
    founder_is_graduate: bool | None = None
    graduation_date: date | None = None


class CaseSubmittedV1(_CaseEvent):
    event_type: ClassVar[str] = "opc.registry.case.submitted.v1"

    proposed_name: str
    business_lines: list[str]
    permits: list[str]
    sandbox: bool
    community_id: UUID | None = None
    submitted_at: UtcDateTime


class MaterialsRequestedV1(_CaseEvent):
    """The consolidated deficiency notice (一次性告知): everything missing, at once."""

    event_type: ClassVar[str] = "opc.registry.materials.requested.v1"

    items: list[str]
    correction: bool = False
    requested_at: UtcDateTime


class MaterialsReminderV1(_CaseEvent):
    """A scheduled reminder for materials still missing; notification channels pick it up."""

    event_type: ClassVar[str] = "opc.registry.materials.reminder.v1"

    items: list[str]
    reminder_no: int
    founder_account: str
    reminded_at: UtcDateTime


class MaterialsSuppliedV1(_CaseEvent):
    event_type: ClassVar[str] = "opc.registry.materials.supplied.v1"

    code: str
    document_ref: str
    checksum: str
    supplied_at: UtcDateTime
    all_supplied: bool


class CaseAcceptedV1(_CaseEvent):
    event_type: ClassVar[str] = "opc.registry.case.accepted.v1"

    accepted_at: UtcDateTime
    licence_due_at: UtcDateTime
    account_due_at: UtcDateTime
    owner: str


class LicenceIssuedV1(_CaseEvent):
    event_type: ClassVar[str] = "opc.registry.licence.issued.v1"

    uscc: str
    issued_at: UtcDateTime
    working_days_used: float
    within_promise: bool


class AccountOpenedV1(_RegistryEvent):
    event_type: ClassVar[str] = "opc.registry.account.opened.v1"

    firm_id: UUID
    case_id: UUID
    district: str
    opened_at: UtcDateTime
    within_promise: bool


class PermitDecidedV1(_CaseEvent):
    permit: str
    decided_at: UtcDateTime
    reference: str | None = None
    reason: str | None = None
    simplified_review: bool = False


class PermitGrantedV1(PermitDecidedV1):
    event_type: ClassVar[str] = "opc.registry.permit.granted.v1"


class PermitRefusedV1(PermitDecidedV1):
    event_type: ClassVar[str] = "opc.registry.permit.refused.v1"


class SlaEventV1(_CaseEvent):
    clock: Literal["licence", "account"]
    step: str
    #: None when the step fired while the clock was paused (the due moment is then not fixed).
    due_at: UtcDateTime | None
    fired_at: UtcDateTime
    owner: str | None = None


class SlaWarningV1(SlaEventV1):
    event_type: ClassVar[str] = "opc.registry.sla.warning.v1"


class SlaBreachedV1(SlaEventV1):
    event_type: ClassVar[str] = "opc.registry.sla.breached.v1"


class SlaEscalatedV1(SlaEventV1):
    event_type: ClassVar[str] = "opc.registry.sla.escalated.v1"


class FirmStatusChangedV1(_RegistryEvent):
    """Subsidies depend on months of normal operation, so every change carries its effective date."""

    event_type: ClassVar[str] = "opc.registry.firm.status_changed.v1"

    firm_id: UUID
    district: str
    status: Literal["operating", "suspended", "deregistered"]
    previous_status: str
    effective_date: date
    reason: str | None = None


class CommunityRegisteredV1(_RegistryEvent):
    """A community (OPC 社区) exists or changed: the ledger's pools and matching's locality use it.

    Keyed by the community: it concerns no single firm."""

    event_type: ClassVar[str] = "opc.registry.community.registered.v1"
    subject_field: ClassVar[str] = "community_id"

    community_id: UUID
    name: str = Field(min_length=1, max_length=200)
    district: str = Field(min_length=1, max_length=64)
    city: str = Field(min_length=1, max_length=64)
    #: GB/T 2260 county-level division code of the district (six digits).
    division_code: str = Field(pattern=r"^\d{6}$")
    kind: str = Field(min_length=1, max_length=64)
    land_use: str = Field(min_length=1, max_length=64)
    operator_name: str | None = Field(default=None, max_length=200)
    operator_uscc: str | None = Field(default=None, min_length=18, max_length=18)
    registered_at: UtcDateTime


class CalendarYearLoadedV1(_RegistryEvent):
    """The official working-day schedule of one year was loaded or edited; the whole year is carried.

    Other services (the subsidy review SLA) keep their own copy from this event and never read the
    registry's schema. A later event for the same year replaces the earlier one."""

    event_type: ClassVar[str] = "opc.registry.calendar.year_loaded.v1"
    subject_field: ClassVar[str] = "calendar_key"

    year: int = Field(ge=1990, le=2200)
    #: Weekdays that are public holidays (no work).
    holidays: list[date] = Field(default_factory=list)
    #: Saturdays or Sundays that are worked (调休).
    adjusted_working_days: list[date] = Field(default_factory=list)
    loaded_at: UtcDateTime
    source: str = Field(default="", max_length=200)

    @property
    def calendar_key(self) -> str:
        return f"calendar:{self.year}"


class CalendarHorizonLowV1(_RegistryEvent):
    """The loaded working-day calendar ends soon: deadlines reaching past it will be refused.

    Fired once per missing year when fewer than ``threshold_days`` remain, so ops load the State
    Council's schedule for ``missing_year`` weeks before acceptances start failing. Keyed like
    :class:`CalendarYearLoadedV1` for the missing year, so the alert and its remedy stay ordered."""

    event_type: ClassVar[str] = "opc.registry.calendar.horizon_low.v1"
    subject_field: ClassVar[str] = "calendar_key"

    missing_year: int = Field(ge=1990, le=2200)
    #: The last day the calendar answers for (None when even the current year is missing).
    last_loaded_day: date | None
    days_left: int = Field(ge=0)
    threshold_days: int = Field(ge=1)
    detected_at: UtcDateTime

    @property
    def calendar_key(self) -> str:
        return f"calendar:{self.missing_year}"


REGISTRY_EVENTS: tuple[type[EventContract], ...] = (
    FirmRegisteredV1,
    CaseSubmittedV1,
    MaterialsRequestedV1,
    MaterialsReminderV1,
    MaterialsSuppliedV1,
    CaseAcceptedV1,
    LicenceIssuedV1,
    AccountOpenedV1,
    PermitGrantedV1,
    PermitRefusedV1,
    SlaWarningV1,
    SlaBreachedV1,
    SlaEscalatedV1,
    FirmStatusChangedV1,
    CommunityRegisteredV1,
    CalendarYearLoadedV1,
    CalendarHorizonLowV1,
)
