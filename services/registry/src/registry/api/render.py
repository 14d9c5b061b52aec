"""Domain objects to API shapes."""

from __future__ import annotations

from datetime import datetime

from registry.api.schemas import CaseOut, ClockOut, MaterialOut, StepOut, SubCaseOut
from registry.domain.calendar import CalendarNotLoaded, WorkingCalendar
from registry.domain.case import Case


def case_out(case: Case, calendar: WorkingCalendar, now: datetime) -> CaseOut:
    clock = None
    if case.licence_clock is not None:
        try:
            due = case.licence_clock.due(calendar)
            overdue = case.licence_clock.is_overdue(now, calendar, completed_at=case.licence_issued_at)
        except CalendarNotLoaded:
            due, overdue = None, False
        c = case.licence_clock
        clock = ClockOut(
            started_at=c.started_at,
            working_days=c.working_days,
            paused=c.is_paused,
            extension_days=c.extension_days,
            extension_reason=c.extension_reason,
            due_at=due,
            overdue=overdue,
        )
    return CaseOut(
        id=case.id,
        district=case.district,
        status=case.status.value,
        version=case.version,
        founder_account=case.founder_sub,
        owner=case.owner,
        form=case.form.to_json(),
        sandbox=case.sandbox,
        permits=case.permits,
        submitted_at=case.submitted_at,
        accepted_at=case.accepted_at,
        licence_issued_at=case.licence_issued_at,
        account_opened_at=case.account_opened_at,
        completed_at=case.completed_at,
        licence_clock=clock,
        account_due_at=case.account_due_at,
        firm_id=case.firm_id if case.licence_issued_at else None,
        steps=[
            StepOut(
                step=s.step,
                state=s.state.value,
                owner=s.owner,
                due_at=s.due_at,
                completed_at=s.completed_at,
                reference=s.reference,
            )
            for s in sorted(case.steps.values(), key=lambda s: s.position)
        ],
        materials=[
            MaterialOut(
                code=m.code,
                status=m.status,
                document_ref=m.document_ref,
                checksum=m.checksum,
                supplied_at=m.supplied_at,
                requested_at=m.requested_at,
                next_reminder=m.reminders[m.reminders_sent] if len(m.reminders) > m.reminders_sent else None,
                note=m.note,
            )
            for m in case.materials.values()
        ],
        sub_cases=[
            SubCaseOut(
                id=s.id,
                kind=s.kind,
                status=s.status.value,
                signoffs=s.signoffs,
                simplified_review=s.simplified_review,
                referred_at=s.referred_at,
                due_at=s.due_at,
                decided_at=s.decided_at,
                reference=s.reference,
                reason=s.reason,
            )
            for s in sorted(case.sub_cases.values(), key=lambda s: (s.kind != "site_statement", s.kind))
        ],
    )
