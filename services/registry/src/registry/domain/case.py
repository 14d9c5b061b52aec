"""The registration case: from the founder's one form to an operating firm with a bank account.

Plain Python: every rule about what may happen to a case, and in which order, lives here. Each
change records timeline entries and the integration events it raises; the service layer
persists both in one transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from opc_shared.aggregate import Aggregate
from opc_shared.clock import SHANGHAI
from opc_shared.contracts import registry as ev
from opc_shared.contracts.base import EventContract
from opc_shared.times import rfc3339
from registry.domain import materials as mat
from registry.domain.calendar import WorkingCalendar
from registry.domain.catalogue import (
    PERMIT_REFERRAL_WORKING_DAYS,
    SITE_STATEMENT_OFFICES,
    SITE_STATEMENT_WORKING_DAYS,
    Permit,
)
from registry.domain.errors import DomainError
from registry.domain.form import CaseForm
from registry.domain.messages import name, names, say
from registry.domain.notice import Notice, correction_notice, request_notice
from registry.domain.sla import ExtensionAlreadyUsed, SlaClock

LICENCE_WORKING_DAYS = 3
OFFICE_NAMES = names("office", SITE_STATEMENT_OFFICES)
ACCOUNT_CALENDAR_DAYS = 7


class Status(StrEnum):
    DRAFT = "draft"
    AWAITING_MATERIALS = "awaiting_materials"  # submitted; the deficiency notice is out
    READY = "ready"  # submitted and complete; waiting for acceptance (受理)
    ACCEPTED = "accepted"  # in progress; licence clock running
    CORRECTION = "correction"  # accepted, founder correcting materials (补正); licence clock paused
    LICENSED = "licensed"  # licence issued; remaining steps running
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"


STEPS = ("acceptance", "name_check", "business_licence", "seal", "tax_registration", "bank_account", "social_insurance")
OPEN_STATUSES = (Status.DRAFT, Status.AWAITING_MATERIALS, Status.READY, Status.ACCEPTED, Status.CORRECTION, Status.LICENSED)


class StepState(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class SubStatus(StrEnum):
    OPEN = "open"  # site statement collecting sign-offs
    WAITING = "waiting"  # permit referral waiting for the licence and/or the site statement
    READY = "ready"  # may be referred now
    REFERRED = "referred"
    GRANTED = "granted"
    REFUSED = "refused"


#: The event each rung of an SLA ladder raises.
SLA_EVENTS: dict[str, type[EventContract]] = {
    "warn": ev.SlaWarningV1,
    "escalate": ev.SlaBreachedV1,
    "escalate_again": ev.SlaEscalatedV1,
}


@dataclass
class Step:
    step: str
    position: int
    state: StepState = StepState.PENDING
    owner: str | None = None
    due_at: datetime | None = None
    completed_at: datetime | None = None
    reference: str | None = None


@dataclass
class MaterialItem:
    code: str
    status: str = "missing"  # missing | supplied
    document_ref: str | None = None
    checksum: str | None = None
    supplied_at: datetime | None = None
    supplied_by: str | None = None
    requested_at: datetime | None = None
    reminders: list[date] = field(default_factory=list)
    reminders_sent: int = 0
    note: str | None = None


@dataclass
class SubCase:
    id: uuid.UUID
    kind: str  # site_statement | a Permit value
    status: SubStatus
    opened_at: datetime
    signoffs: dict[str, dict[str, str]] = field(default_factory=dict)
    simplified_review: bool = False
    referred_at: datetime | None = None
    due_at: datetime | None = None
    decided_at: datetime | None = None
    reference: str | None = None
    reason: str | None = None


@dataclass
class TimelineEntry:
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any] = field(default_factory=dict)
    reference: str | None = None


@dataclass
class Placement:
    """Where the firm will sit, as the service layer found it in the database."""

    community_name: str
    community_district: str
    land_use: str
    address: str | None
    workstation_code: str
    registrable: bool
    occupied_by_other: bool


@dataclass
class Case(Aggregate):
    id: uuid.UUID
    district: str
    founder_sub: str
    created_by: str
    status: Status = Status.DRAFT
    form: CaseForm = field(default_factory=CaseForm)
    owner: str | None = None
    sandbox: bool = False
    permits: list[str] = field(default_factory=list)
    submitted_at: datetime | None = None
    accepted_at: datetime | None = None
    licence_issued_at: datetime | None = None
    account_opened_at: datetime | None = None
    completed_at: datetime | None = None
    licence_clock: SlaClock | None = None
    account_due_at: datetime | None = None
    #: The firm this case registers, reserved at opening so the case's events and the firm's share
    #: one key; the firm exists once the licence is issued (``licence_issued_at``).
    firm_id: uuid.UUID = field(default_factory=uuid.uuid4)
    version: int = 1
    steps: dict[str, Step] = field(default_factory=dict)
    materials: dict[str, MaterialItem] = field(default_factory=dict)
    sub_cases: dict[uuid.UUID, SubCase] = field(default_factory=dict)
    # What this change raised; the service layer persists and clears them.
    events: list[EventContract] = field(default_factory=list, repr=False)
    new_timeline: list[TimelineEntry] = field(default_factory=list, repr=False)
    new_notices: list[Notice] = field(default_factory=list, repr=False)

    # ------------------------------------------------------------------ intake
    @classmethod
    def draft(cls, *, district: str, founder_sub: str, created_by: str, form: CaseForm, now: datetime) -> Case:
        case = cls(id=uuid.uuid4(), district=district, founder_sub=founder_sub, created_by=created_by, form=form)
        case._log(now, created_by, "draft_saved", {"fields": form.filled_fields()})
        return case

    def update_form(self, patch: CaseForm, *, now: datetime, actor: str) -> None:
        """Apply the fields an edit sent (``patch`` holds only those)."""
        if self.status != Status.DRAFT:
            raise DomainError("case_not_editable", {"status": self.status.value})
        self.form = self.form.merged(patch.to_json())
        self._log(now, actor, "draft_saved", {"fields": patch.filled_fields()})

    def missing_fields(self) -> list[str]:
        return self.form.missing()

    def submit(
        self, *, now: datetime, actor: str, lines: dict[str, Any], placement: Placement, calendar: WorkingCalendar
    ) -> None:
        """Lines: the active catalogue entries for the chosen codes (code -> entry with .permits, .sandbox)."""
        if self.status != Status.DRAFT:
            raise DomainError("case_not_editable", {"status": self.status.value})
        problems = [(f, "missing", say("required")) for f in self.missing_fields()]
        unknown = [c for c in self.form.business_lines or () if c not in lines]
        if unknown:
            problems.append(("business_lines", "unknown_business_line", say("unknown_business_lines", codes=", ".join(unknown))))
        if placement.community_district != self.district:
            problems.append(("community_id", "other_district", say("community_other_district")))
        if not placement.registrable:
            problems.append(("workstation_id", "not_registrable", say("workstation_not_registrable")))
        if placement.occupied_by_other:
            # One answer for one situation: losing a race for the workstation is a conflict, whatever else is wrong.
            raise DomainError("workstation_occupied", {}, [("workstation_id", "occupied", say("workstation_occupied"))])
        if problems:
            raise DomainError("case_incomplete", {"count": len(problems)}, problems)
        self.form = self.form.placed(
            placement.community_name,
            f"{placement.address or placement.community_name} {placement.workstation_code}".strip(),
        )
        chosen = [lines[c] for c in self.form.business_lines or ()]
        self.sandbox = any(line.sandbox for line in chosen)
        self.permits = [p.value for p in mat.permits_for(chosen, list(self.form.requested_permits or ()))]
        required = mat.required_materials(permits=self.permits, is_graduate=bool(self.form.founder_or_blank.is_graduate))
        supplied = {d.code: d for d in self.form.documents or ()}
        for item in required:
            doc = supplied.get(item.code)
            if doc:
                self.materials[item.code] = MaterialItem(
                    item.code, "supplied", doc.document_ref, doc.checksum, now, actor, requested_at=now
                )
            else:
                self.materials[item.code] = MaterialItem(
                    item.code, requested_at=now, reminders=mat.reminder_schedule(now.astimezone(SHANGHAI).date())
                )
        self.submitted_at = now
        self.record(
            ev.CaseSubmittedV1(
                case_id=self.id,
                firm_id=self.firm_id,
                district=self.district,
                proposed_name=self.form.proposed_name,
                business_lines=list(self.form.business_lines or ()),
                permits=self.permits,
                sandbox=self.sandbox,
                community_id=self.form.community_id,
                submitted_at=now,
            )
        )
        self._log(
            now,
            actor,
            "submitted",
            {"sandbox": self.sandbox, "permits": self.permits, "site_statement": mat.needs_site_statement(placement.land_use)},
        )
        if mat.needs_site_statement(placement.land_use):
            # The standard channel instead of case-by-case coordination: opened now, signed in parallel.
            sid = uuid.uuid4()
            due = end_of_local_day(calendar.add_working_days(now.astimezone(SHANGHAI).date(), SITE_STATEMENT_WORKING_DAYS))
            self.sub_cases[sid] = SubCase(sid, "site_statement", SubStatus.OPEN, now, due_at=due)
            self._log(now, actor, "site_statement_opened", {"land_use": placement.land_use, "due_at": rfc3339(due)})
        missing = self.missing_materials()
        if missing:
            self.status = Status.AWAITING_MATERIALS
            self.record(
                ev.MaterialsRequestedV1(
                    case_id=self.id, firm_id=self.firm_id, district=self.district, items=missing, requested_at=now
                )
            )
            notice = request_notice(
                missing=missing,
                permits=self.permits,
                lines=chosen,
                land_use=placement.land_use,
                site_statement=mat.needs_site_statement(placement.land_use),
                now=now,
            )
            self.new_notices.append(notice)
            self._log(now, actor, "materials_requested", {"items": missing, "consolidated": True, "notice": str(notice.id)})
        else:
            self.status = Status.READY

    def missing_materials(self) -> list[str]:
        return [code for code, item in self.materials.items() if item.status != "supplied"]

    def supply_material(self, code: str, *, document_ref: str, checksum: str, now: datetime, actor: str) -> None:
        if self.status not in (Status.AWAITING_MATERIALS, Status.READY, Status.CORRECTION, Status.ACCEPTED):
            raise DomainError("case_not_editable", {"status": self.status.value})
        item = self.materials.get(code)
        if item is None:
            raise DomainError(
                "material_not_requested",
                {"code": code},
                [("code", "not_requested", say("material_not_requested", code=name("material", code)))],
            )
        if self.status in (Status.ACCEPTED, Status.CORRECTION) and item.status == "supplied":
            # After 受理 the documents behind a running case are fixed; only a correction (补正) reopens one.
            raise DomainError("material_locked", {"code": code})
        item.status, item.document_ref, item.checksum = "supplied", document_ref, checksum.lower()
        item.supplied_at, item.supplied_by, item.reminders, item.note = now, actor, [], None
        all_supplied = not self.missing_materials()
        self.record(
            ev.MaterialsSuppliedV1(
                case_id=self.id,
                firm_id=self.firm_id,
                district=self.district,
                code=code,
                document_ref=document_ref,
                checksum=item.checksum,
                supplied_at=now,
                all_supplied=all_supplied,
            )
        )
        self._log(now, actor, "material_supplied", {"code": code, "checksum": item.checksum}, reference=document_ref)
        if all_supplied and self.status == Status.AWAITING_MATERIALS:
            self.status = Status.READY
        elif all_supplied and self.status == Status.CORRECTION:
            assert self.licence_clock is not None
            self.licence_clock = self.licence_clock.resume(now)
            self.status = Status.ACCEPTED
            self._log(now, actor, "clock_resumed", {"clock": "licence"})

    # ------------------------------------------------------------- acceptance
    def accept(self, *, now: datetime, actor: str, calendar: WorkingCalendar) -> None:
        if self.status != Status.READY:
            code = "materials_missing" if self.status == Status.AWAITING_MATERIALS else "invalid_transition"
            raise DomainError(code, {"status": self.status.value, "items": ", ".join(self.missing_materials())})
        self.status, self.accepted_at, self.owner = Status.ACCEPTED, now, actor
        self.licence_clock = SlaClock(started_at=now, working_days=LICENCE_WORKING_DAYS, pauses=())
        licence_due = self.licence_clock.due(calendar)
        assert licence_due is not None
        self.account_due_at = end_of_local_day(now.astimezone(SHANGHAI).date() + timedelta(days=ACCOUNT_CALENDAR_DAYS))
        name_check_due = end_of_local_day(calendar.add_working_days(now.astimezone(SHANGHAI).date(), 1))
        dues = {"acceptance": now, "name_check": name_check_due, "business_licence": licence_due}
        for position, step in enumerate(STEPS):
            self.steps[step] = Step(step, position, StepState.PENDING, actor, dues.get(step, self.account_due_at))
        self.steps["acceptance"].state, self.steps["acceptance"].completed_at = StepState.DONE, now
        self.steps["name_check"].state = StepState.IN_PROGRESS
        for permit in self.permits:
            pid = uuid.uuid4()
            self.sub_cases[pid] = SubCase(pid, permit, SubStatus.WAITING, now, simplified_review=self.sandbox)
        self.record(
            ev.CaseAcceptedV1(
                case_id=self.id,
                firm_id=self.firm_id,
                district=self.district,
                accepted_at=now,
                licence_due_at=licence_due,
                account_due_at=self.account_due_at,
                owner=actor,
            )
        )
        self._log(
            now, actor, "accepted", {"licence_due_at": rfc3339(licence_due), "account_due_at": rfc3339(self.account_due_at)}
        )

    def request_correction(self, items: dict[str, str], *, now: datetime, actor: str) -> None:
        """补正: the named materials must be supplied again; the licence clock stops meanwhile."""
        if self.status != Status.ACCEPTED:
            raise DomainError("invalid_transition", {"status": self.status.value})
        unknown = [c for c in items if c not in self.materials]
        if unknown:
            raise DomainError(
                "material_not_requested",
                {"code": ", ".join(unknown)},
                [("items", "not_requested", say("material_not_requested", code=names("material", unknown)))],
            )
        for code, note in items.items():
            item = self.materials[code]
            item.status, item.note, item.requested_at = "missing", note, now
            item.reminders = mat.reminder_schedule(now.astimezone(SHANGHAI).date())
        assert self.licence_clock is not None
        self.licence_clock = self.licence_clock.pause(now)
        self.status = Status.CORRECTION
        self.record(
            ev.MaterialsRequestedV1(
                case_id=self.id,
                firm_id=self.firm_id,
                district=self.district,
                items=sorted(items),
                correction=True,
                requested_at=now,
            )
        )
        notice = correction_notice(items, now=now)
        self.new_notices.append(notice)
        self._log(now, actor, "correction_requested", {"items": items, "notice": str(notice.id)})
        self._log(now, actor, "clock_paused", {"clock": "licence"})

    def extend(self, days: int, reason: str, *, now: datetime, actor: str) -> None:
        if self.licence_clock is None or self.status not in (Status.ACCEPTED, Status.CORRECTION):
            raise DomainError("invalid_transition", {"status": self.status.value})
        try:
            self.licence_clock = self.licence_clock.extend(days, reason)
        except ExtensionAlreadyUsed:
            raise DomainError("extension_already_used") from None
        self._log(now, actor, "clock_extended", {"clock": "licence", "days": days, "reason": reason})

    # ------------------------------------------------------------------ steps
    def complete_step(
        self,
        step: str,
        *,
        reference: str | None,
        now: datetime,
        actor: str,
        calendar: WorkingCalendar,
        firm: tuple[uuid.UUID, str] | None = None,
    ) -> None:
        if step not in STEPS:
            raise DomainError("step_not_found", {"step": step})
        if step not in self.steps:
            raise DomainError("invalid_transition", {"status": self.status.value})
        current = self.steps[step]
        if current.state == StepState.DONE:
            raise DomainError("step_already_done", {"step": step})
        earlier = [s for s in self.steps.values() if s.position < current.position and s.state != StepState.DONE]
        if earlier:
            raise DomainError("step_out_of_order", {"step": step, "before": earlier[0].step})
        if self.status == Status.CORRECTION:
            raise DomainError("clock_paused_for_correction", {"items": ", ".join(self.missing_materials())})
        if self.status not in (Status.ACCEPTED, Status.LICENSED):
            raise DomainError("invalid_transition", {"status": self.status.value})
        current.state, current.completed_at, current.reference = StepState.DONE, now, reference
        nxt = next((s for s in sorted(self.steps.values(), key=lambda s: s.position) if s.state == StepState.PENDING), None)
        if nxt is not None:
            nxt.state = StepState.IN_PROGRESS
        self._log(now, actor, "step_completed", {"step": step}, reference=reference)
        if step == "business_licence":
            self._issue_licence(now, actor, calendar, firm)
        elif step == "bank_account":
            assert self.firm_id is not None and self.account_due_at is not None
            self.account_opened_at = now
            self.record(
                ev.AccountOpenedV1(
                    firm_id=self.firm_id,
                    case_id=self.id,
                    district=self.district,
                    opened_at=now,
                    within_promise=now <= self.account_due_at,
                )
            )
        if all(s.state == StepState.DONE for s in self.steps.values()):
            self.status, self.completed_at = Status.COMPLETED, now
            self._log(now, actor, "completed", {})

    def _issue_licence(self, now: datetime, actor: str, calendar: WorkingCalendar, firm: tuple[uuid.UUID, str] | None) -> None:
        if firm is None:
            raise ValueError("issuing the licence needs the new firm's id and USCC")
        assert self.licence_clock is not None
        if firm[0] != self.firm_id:
            raise ValueError("the firm is registered under the id its case reserved")
        uscc = firm[1]
        self.status, self.licence_issued_at = Status.LICENSED, now
        used = self.licence_clock.working_days_used(now, calendar)
        due = self.licence_clock.due(calendar)
        self.record(
            ev.LicenceIssuedV1(
                case_id=self.id,
                district=self.district,
                firm_id=self.firm_id,
                uscc=uscc,
                issued_at=now,
                working_days_used=float(used),
                within_promise=due is not None and now <= due,
            )
        )
        founder = self.form.founder_or_blank
        self.record(
            ev.FirmRegisteredV1(
                firm_id=self.firm_id,
                name=self.form.proposed_name,
                district=self.district,
                community=self.form.community_name,
                community_id=self.form.community_id,
                founder_name=founder.name or "",
                registered_at=now,
                uscc=uscc,
                case_id=self.id,
                business_lines=list(self.form.business_lines or ()),
                founder_is_graduate=founder.is_graduate,
                graduation_date=founder.graduation_date,
            )
        )
        self._log(now, actor, "licence_issued", {"firm_id": str(self.firm_id), "uscc": uscc})
        self._refresh_permit_readiness()

    # -------------------------------------------------------------- sub-cases
    def sign_site_statement(self, sub_id: uuid.UUID, office: str, *, now: datetime, actor: str, reference: str | None) -> None:
        sub = self._sub(sub_id, "site_statement")
        if office not in SITE_STATEMENT_OFFICES:
            raise DomainError(
                "unknown_office",
                {"office": office},
                [("office", "enum", say("office_enum", offices=OFFICE_NAMES))],
            )
        if sub.status != SubStatus.OPEN or self.status == Status.WITHDRAWN:
            raise DomainError("invalid_transition", {"status": sub.status.value})
        if office in sub.signoffs:
            raise DomainError("already_signed", {"office": office})
        sub.signoffs[office] = {"by": actor, "at": rfc3339(now), "reference": reference or ""}
        self._log(now, actor, "site_statement_signed", {"office": office, "sub_case": str(sub_id)}, reference=reference)
        if all(o in sub.signoffs for o in SITE_STATEMENT_OFFICES):
            sub.status, sub.decided_at = SubStatus.GRANTED, now
            self._log(now, actor, "site_statement_issued", {"sub_case": str(sub_id)})
            self._refresh_permit_readiness()

    def refer_permit(self, sub_id: uuid.UUID, *, now: datetime, actor: str, calendar: WorkingCalendar) -> None:
        sub = self._sub(sub_id, None)
        if sub.status != SubStatus.READY:
            raise DomainError("permit_not_ready", {"status": sub.status.value, "blockers": ", ".join(self.permit_blockers())})
        days = PERMIT_REFERRAL_WORKING_DAYS[Permit(sub.kind)]
        if sub.simplified_review:
            days = max(1, days // 2)  # sandbox supervision: simplified qualification review
        sub.status, sub.referred_at = SubStatus.REFERRED, now
        sub.due_at = end_of_local_day(calendar.add_working_days(now.astimezone(SHANGHAI).date(), days))
        self._log(
            now,
            actor,
            "permit_referred",
            {"permit": sub.kind, "due_at": rfc3339(sub.due_at), "simplified": sub.simplified_review},
        )

    def decide_permit(
        self, sub_id: uuid.UUID, *, granted: bool, reference: str | None, reason: str | None, now: datetime, actor: str
    ) -> None:
        sub = self._sub(sub_id, None)
        if sub.status != SubStatus.REFERRED:
            raise DomainError("invalid_transition", {"status": sub.status.value})
        sub.status = SubStatus.GRANTED if granted else SubStatus.REFUSED
        sub.decided_at, sub.reference, sub.reason = now, reference, reason
        contract = ev.PermitGrantedV1 if granted else ev.PermitRefusedV1
        self.record(
            contract(
                case_id=self.id,
                district=self.district,
                permit=sub.kind,
                firm_id=self.firm_id,
                decided_at=now,
                reference=reference,
                reason=reason,
                simplified_review=sub.simplified_review,
            )
        )
        self._log(
            now,
            actor,
            "permit_granted" if granted else "permit_refused",
            {"permit": sub.kind, "reason": reason},
            reference=reference,
        )

    def permit_blockers(self) -> list[str]:
        blockers = []
        if self.licence_issued_at is None:
            blockers.append("business_licence")
        if any(s.kind == "site_statement" and s.status != SubStatus.GRANTED for s in self.sub_cases.values()):
            blockers.append("site_statement")
        return blockers

    def _refresh_permit_readiness(self) -> None:
        if not self.permit_blockers():
            for sub in self.sub_cases.values():
                if sub.status == SubStatus.WAITING:
                    sub.status = SubStatus.READY

    def _sub(self, sub_id: uuid.UUID, kind: str | None) -> SubCase:
        sub = self.sub_cases.get(sub_id)
        if sub is None or (kind is not None and sub.kind != kind) or (kind is None and sub.kind == "site_statement"):
            raise DomainError("sub_case_not_found", {"id": str(sub_id)})
        return sub

    # ------------------------------------------------------------------- misc
    def assign(self, owner: str, *, step: str | None, now: datetime, actor: str) -> None:
        """Hand the case (all open steps) or one step to another caseworker."""
        if self.status not in (Status.ACCEPTED, Status.CORRECTION, Status.LICENSED):
            raise DomainError("invalid_transition", {"status": self.status.value})
        if step is not None and step not in self.steps:
            raise DomainError("invalid_transition", {"status": self.status.value})
        targets = [self.steps[step]] if step else [s for s in self.steps.values() if s.state != StepState.DONE]
        for target in targets:
            target.owner = owner
        if step is None:
            self.owner = owner
        self._log(now, actor, "assigned", {"owner": owner, "step": step})

    def withdraw(self, reason: str, *, now: datetime, actor: str) -> None:
        if self.status in (Status.LICENSED, Status.COMPLETED, Status.WITHDRAWN):
            raise DomainError("invalid_transition", {"status": self.status.value})
        self.status = Status.WITHDRAWN
        self._log(now, actor, "withdrawn", {"reason": reason})

    # ---------------------------------------------------------- what the jobs record
    def escalate(self, clock: str, step: str, *, due: datetime | None, now: datetime) -> None:
        """One rung of an SLA ladder fired (the scheduler made sure it fires once)."""
        event = SLA_EVENTS[step]
        self.record(
            event(
                case_id=self.id,
                firm_id=self.firm_id,
                district=self.district,
                clock=clock,
                step=step,
                due_at=due,
                fired_at=now,
                owner=self.owner,
            )
        )
        self._log(now, "sla-scheduler", f"sla_{step}", {"clock": clock, "due_at": rfc3339(due) if due else None})

    def remind_materials(self, codes: list[str], *, now: datetime) -> None:
        """The founder is reminded of the items still missing whose reminder day has come."""
        items = [self.materials[c] for c in sorted(codes)]
        number = max(item.reminders_sent for item in items) + 1
        for item in items:
            item.reminders_sent += 1
        self.record(
            ev.MaterialsReminderV1(
                case_id=self.id,
                firm_id=self.firm_id,
                district=self.district,
                items=[item.code for item in items],
                reminder_no=number,
                founder_account=self.founder_sub,
                reminded_at=now,
            )
        )
        self._log(now, "reminder-scheduler", "materials_reminded", {"items": [i.code for i in items], "reminder_no": number})

    def _log(self, at: datetime, actor: str, action: str, detail: dict[str, Any], reference: str | None = None) -> None:
        self.new_timeline.append(TimelineEntry(at, actor, action, detail, reference))


def end_of_local_day(day: date) -> datetime:
    """Deadlines end at local midnight: the start of the following day in Asia/Shanghai."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=SHANGHAI)
