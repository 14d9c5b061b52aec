from __future__ import annotations

from datetime import date
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, RootModel

from opc_shared.times import JsonWithTimes, UtcDateTime
from registry.domain.catalogue import CommunityKind, LandUse, Permit


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class FounderIn(_In):
    name: str | None = Field(default=None, min_length=1, max_length=50, examples=["李雷"])
    id_number: str | None = Field(default=None, min_length=18, max_length=18, examples=["11010519491231002X"])
    phone: str | None = Field(default=None, max_length=20, examples=["13800138000"])
    is_graduate: bool | None = None
    graduation_date: date | None = None


class DocumentIn(_In):
    code: str = Field(min_length=1, max_length=64)
    document_ref: str = Field(min_length=1, max_length=300, examples=["dms://wuhou/2026/11/abc.pdf"])
    checksum: str = Field(min_length=64, max_length=64, description="SHA-256 of the document, hex")


class CaseForm(_In):
    """The one form. Every field may be left out of a draft; submit checks completeness."""

    founder: FounderIn | None = None
    proposed_name: str | None = Field(default=None, min_length=2, max_length=60, examples=["成都光影短剧工作室有限公司"])
    business_lines: list[str] | None = Field(default=None, max_length=10, examples=[["ai_short_drama"]])
    community_id: UUID | None = None
    workstation_id: UUID | None = None
    requested_permits: list[Permit] | None = None
    documents: list[DocumentIn] | None = Field(default=None, max_length=50)


class CaseCreate(CaseForm):
    founder_account: str | None = Field(
        default=None, max_length=200, description="Caseworkers: the founder's login, who may then follow the case"
    )


class StepOut(BaseModel):
    step: str
    state: str
    owner: str | None
    due_at: UtcDateTime | None
    completed_at: UtcDateTime | None
    reference: str | None


class MaterialOut(BaseModel):
    code: str
    status: str
    document_ref: str | None
    checksum: str | None
    supplied_at: UtcDateTime | None
    requested_at: UtcDateTime | None
    next_reminder: date | None
    note: str | None


class SubCaseOut(BaseModel):
    id: UUID
    kind: str
    status: str
    signoffs: JsonWithTimes
    simplified_review: bool
    referred_at: UtcDateTime | None
    due_at: UtcDateTime | None
    decided_at: UtcDateTime | None
    reference: str | None
    reason: str | None


class ClockOut(BaseModel):
    started_at: UtcDateTime
    working_days: int
    paused: bool
    extension_days: int
    extension_reason: str | None
    due_at: UtcDateTime | None
    overdue: bool


class CaseOut(BaseModel):
    id: UUID
    district: str
    status: str
    version: int
    founder_account: str
    owner: str | None
    form: dict[str, Any]
    sandbox: bool
    permits: list[str]
    submitted_at: UtcDateTime | None
    accepted_at: UtcDateTime | None
    licence_issued_at: UtcDateTime | None
    account_opened_at: UtcDateTime | None
    completed_at: UtcDateTime | None
    licence_clock: ClockOut | None
    account_due_at: UtcDateTime | None
    firm_id: UUID | None
    steps: list[StepOut]
    materials: list[MaterialOut]
    sub_cases: list[SubCaseOut]


class CaseSummary(BaseModel):
    id: UUID
    district: str
    status: str
    owner: str | None
    community_id: UUID | None
    proposed_name: str | None
    sandbox: bool
    submitted_at: UtcDateTime | None
    accepted_at: UtcDateTime | None
    licence_due_at: UtcDateTime | None
    sla_risk: Literal["on_track", "at_risk", "overdue"] | None
    version: int


class SupplyIn(_In):
    document_ref: str = Field(min_length=1, max_length=300)
    checksum: str = Field(pattern=r"^[0-9a-fA-F]{64}$", description="SHA-256 of the document, hex")


class CorrectionIn(_In):
    items: dict[str, str] = Field(min_length=1, description="material code -> what is wrong with it")


class ExtensionIn(_In):
    days: int = Field(ge=1, le=10)
    reason: str = Field(min_length=2, max_length=500)


class StepIn(_In):
    reference: str | None = Field(default=None, max_length=200)


class SignoffIn(_In):
    office: Literal["talent_office", "development_bureau", "street_office"]
    reference: str | None = Field(default=None, max_length=200)


class DecisionIn(_In):
    granted: bool
    reference: str | None = Field(default=None, max_length=200)
    reason: str | None = Field(default=None, max_length=1000)


class AssignIn(_In):
    owner: str = Field(min_length=1, max_length=200, description="The caseworker's login")
    step: Literal["name_check", "business_licence", "seal", "tax_registration", "bank_account", "social_insurance"] | None = None


class WithdrawIn(_In):
    reason: str = Field(min_length=2, max_length=500)


class TimelineOut(BaseModel):
    at: UtcDateTime
    actor: str
    action: str
    detail: JsonWithTimes
    reference: str | None


class ProgressOut(BaseModel):
    status: str
    headline: str
    missing: list[str]
    next_steps: list[str]
    licence_due_at: UtcDateTime | None
    account_due_at: UtcDateTime | None


class CommunityIn(_In):
    name: str = Field(min_length=2, max_length=200)
    district: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_-]*$", description="A code of GET /v1/districts")
    kind: CommunityKind
    land_use: LandUse
    address: str | None = Field(default=None, max_length=300)
    division_code: str | None = Field(
        default=None,
        pattern=r"^[1-9]\d{5}$",
        description="GB/T 2260 division the building lies in: required in a functional zone (gaoxin, tianfu), "
        "otherwise the district's own code",
    )
    operator_name: str | None = Field(default=None, min_length=2, max_length=200, description="The community's operator (运营方)")
    operator_uscc: str | None = Field(
        default=None, min_length=18, max_length=18, description="The operator's USCC (GB 32100, check character verified)"
    )


class CommunityOut(CommunityIn):
    model_config = ConfigDict(extra="ignore")
    id: UUID
    created_at: UtcDateTime


class WorkstationIn(_In):
    code: str = Field(min_length=1, max_length=50)
    registrable: bool = True


class WorkstationOut(BaseModel):
    id: UUID
    community_id: UUID
    code: str
    registrable: bool
    occupant_case_id: UUID | None = None
    occupant_firm_id: UUID | None = None


class WorkstationList(RootModel[list[WorkstationOut]]):
    pass


class BusinessLineIn(_In):
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=100)
    sandbox: bool = False
    permits: list[Permit] = Field(default_factory=list)
    active: bool = True


class BusinessLineOut(BusinessLineIn):
    model_config = ConfigDict(extra="ignore")
    code: str


class CalendarDayIn(_In):
    day: date
    kind: Literal["holiday", "workday"]
    name: str | None = Field(default=None, max_length=100)


class CalendarYearIn(_In):
    days: list[CalendarDayIn] = Field(max_length=366)
    source: str = Field(min_length=2, max_length=200, examples=["国务院办公厅关于2027年部分节假日安排的通知"])


class CalendarYearOut(BaseModel):
    year: int
    source: str
    loaded_at: UtcDateTime
    days: list[CalendarDayIn]


class FirmStatusIn(_In):
    status: Literal["operating", "suspended", "deregistered"]
    effective_date: date
    reason: str | None = Field(default=None, max_length=500)


class CityIn(_In):
    name_zh: str = Field(min_length=1, max_length=100, examples=["宁波市"])
    name_en: str = Field(min_length=1, max_length=100, examples=["Ningbo"])
    division_code: str = Field(pattern=r"^[1-9]\d{5}$", description="GB/T 2260 code of the city", examples=["330200"])
    sandbox_lines: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Business lines that get the sandbox supervision pilot's simplified review in this city",
    )


class CityOut(CityIn):
    model_config = ConfigDict(extra="ignore")
    code: str


class DistrictIn(_In):
    name_zh: str = Field(min_length=1, max_length=100, examples=["海曙区"])
    name_en: str = Field(min_length=1, max_length=100, examples=["Haishu"])
    city: str = Field(min_length=1, max_length=64, examples=["ningbo"])
    division_code: str | None = Field(
        default=None,
        pattern=r"^[1-9]\d{5}$",
        description="GB/T 2260 county-level code; null for a functional zone (e.g. Tianfu New Area)",
        examples=["330203"],
    )
    member_divisions: list[str] = Field(
        default_factory=list, max_length=20, description="For a functional zone: the county-level divisions it spans"
    )


class DistrictOut(DistrictIn):
    model_config = ConfigDict(extra="ignore")
    code: str
    city_name_zh: str
    city_name_en: str
