"""Claims on application: what is missing (all at once), the review's four eyes, and netting.

Pure rules: the service layer loads facts, calls these, and stores what they decide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from opc_shared.aggregate import Aggregate
from opc_shared.contracts.subsidy import ClaimReviewSlaBreachedV1, ClaimReviewSlaWarningV1
from subsidy.domain.compute import Facts
from subsidy.domain.policy import Programme

#: status → the statuses it may move to
TRANSITIONS: dict[str, frozenset[str]] = {
    "incomplete": frozenset({"submitted"}),
    "submitted": frozenset({"under_review"}),
    "under_review": frozenset({"approved", "partly_approved", "rejected"}),
    "approved": frozenset({"scheduled"}),
    "partly_approved": frozenset({"scheduled"}),
    "scheduled": frozenset({"paid", "approved", "partly_approved"}),  # back when the bank refused the transfer
    "rejected": frozenset(),
    "paid": frozenset(),
}
DECISIONS = ("approved", "partly_approved", "rejected")

#: Words for the eligibility conditions a policy may name.
CONDITIONS: dict[str, tuple[str, str]] = {
    "founder_is_graduate": ("创始人为符合条件的高校毕业生", "the founder is an eligible graduate"),
    "acceptance_passed": ("项目已通过验收", "the project passed acceptance"),
    "no_own_housing_in_district": ("在申请区域无自有住房", "no own housing in the district applied in"),
}


class ClaimRuleBroken(ValueError):
    """A step the claim's state or the four-eyes rule does not allow; ``code`` names the rule."""

    def __init__(self, code: str, zh: str, en: str) -> None:
        self.code, self.zh, self.en = code, zh, en
        super().__init__(en)


@dataclass(frozen=True)
class Missing:
    """One item of the deficiency notice (一次性告知)."""

    field: str
    zh: str
    en: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "zh-CN": self.zh, "en": self.en}


def facts_from(raw: dict[str, Any]) -> Facts:
    from decimal import Decimal

    def integer(name: str) -> int | None:
        v = raw.get(name)
        return v if isinstance(v, int) and not isinstance(v, bool) else None

    area = raw.get("area_m2")
    return Facts(
        base_fen=integer("base_fen"),
        requested_fen=integer("requested_fen"),
        months=integer("months"),
        days=integer("days"),
        unit_price_fen=integer("unit_price_fen"),
        area_m2=Decimal(str(area)) if isinstance(area, str | int) and not isinstance(area, bool) else None,
        housing_class=raw.get("housing_class") if isinstance(raw.get("housing_class"), str) else None,
        county_new_town=bool(raw.get("county_new_town", False)),
    )


def deficiencies(programme: Programme, recipient_kind: str, evidence_kinds: set[str], facts: dict[str, Any]) -> list[Missing]:
    """Everything that keeps a claim from review, at once: recipient kind, conditions, evidence.

    (A fact the computation cannot use is found by running it; the caller adds that finding.)"""
    found: list[Missing] = []
    if programme.mode != "application":
        found.append(
            Missing("programme", f"{programme.name_zh}自动核定，无需申请", f"{programme.name_en} accrues automatically, no claim")
        )
        return found
    if recipient_kind != programme.recipient:
        found.append(
            Missing(
                "recipient_kind",
                f"{programme.name_zh}的受益对象应为 {programme.recipient}",
                f"{programme.name_en} is paid to a {programme.recipient}",
            )
        )
    for condition in programme.eligibility:
        if facts.get(condition) is not True:
            zh, en = CONDITIONS.get(condition, (condition, condition))
            found.append(Missing(f"facts.{condition}", f"须确认：{zh}", f"must be confirmed: {en}"))
    for ev in programme.evidence:
        if ev.kind not in evidence_kinds:
            found.append(Missing(f"evidence.{ev.kind}", f"缺少{ev.label_zh}", f"missing {ev.label_en}"))
    return found


def move(status: str, to: str) -> str:
    if to not in TRANSITIONS.get(status, frozenset()):
        raise ClaimRuleBroken("claim_state", f"申请当前状态为 {status}，不能变为 {to}", f"a {status} claim cannot become {to}")
    return to


def check_four_eyes(*, applicant: str, reviewer: str | None, approver: str) -> None:
    """The one who decides is neither the one who reviewed nor the one who applied."""
    if reviewer is None:
        raise ClaimRuleBroken("claim_state", "尚未审核，不能决定", "the claim has not been reviewed yet")
    if approver in (reviewer, applicant):
        raise ClaimRuleBroken(
            "four_eyes", "审批人不能是审核人或申请人（双人复核）", "the approver may be neither the reviewer nor the applicant"
        )


def decided_amount(decision: str, computed_fen: int, approved_fen: int | None, reasons: list[str]) -> int:
    """Approved: the computed amount. Partly: less than it, with reasons. Rejected: 0, with reasons."""
    if decision == "approved":
        if approved_fen not in (None, computed_fen):
            raise ClaimRuleBroken("decision", "全额批准金额须等于核定金额", "a full approval grants the computed amount")
        return computed_fen
    if not reasons:
        raise ClaimRuleBroken("decision", "部分批准或驳回须说明理由", "a partial approval or a rejection needs reasons")
    if decision == "rejected":
        return 0
    if approved_fen is None or not 0 < approved_fen < computed_fen:
        raise ClaimRuleBroken(
            "decision", "部分批准金额须大于0且小于核定金额", "a partial approval is more than 0 and less than the computed amount"
        )
    return approved_fen


def net(gross_fen: int, open_recoveries: list[tuple[Any, int]]) -> list[tuple[Any, int]]:
    """How much of each open recovery (oldest first) a payment of ``gross_fen`` absorbs."""
    taken, left = [], gross_fen
    for key, remaining in open_recoveries:
        if left <= 0:
            break
        take = min(left, remaining)
        if take > 0:
            taken.append((key, take))
            left -= take
    return taken


@dataclass
class ReviewClock(Aggregate):
    """The review SLA of one open claim: its ladder steps raise their events here, once each."""

    claim_id: Any
    recipient_kind: str
    recipient_id: str
    district: str
    programme: str
    due_on: date
    owner: str | None
    events: list = field(default_factory=list, repr=False)

    def _raise(self, contract: type, now: datetime) -> None:
        self.record(
            contract(
                recipient_kind=self.recipient_kind,
                recipient_id=self.recipient_id,
                district=self.district,
                claim_id=self.claim_id,
                programme=self.programme,
                due_on=self.due_on,
                owner=self.owner,
                fired_at=now,
            )
        )

    def warn(self, now: datetime) -> None:
        self._raise(ClaimReviewSlaWarningV1, now)

    def breach(self, now: datetime) -> None:
        self._raise(ClaimReviewSlaBreachedV1, now)
