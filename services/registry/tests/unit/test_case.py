"""The case aggregate's rules, with no HTTP, no database and no Kafka."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from opc_shared.contracts import registry as ev
from registry.domain.calendar import seeded_calendar
from registry.domain.case import Case, Placement, Status
from registry.domain.errors import DomainError
from registry.domain.form import CaseForm

CAL = seeded_calendar(2026)
MON = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Chengdu, an ordinary week
LINES = {
    "ai_music": SimpleNamespace(code="ai_music", sandbox=False, permits=[]),
    "ai_short_drama": SimpleNamespace(code="ai_short_drama", sandbox=True, permits=["radio_tv_production"]),
}
OFFICE = Placement("社区", "wuhou", "office", "地址", "A-1", registrable=True, occupied_by_other=False)
DOCS = [
    {"code": c, "document_ref": f"dms://{c}", "checksum": "a" * 64}
    for c in ("founder_id_copy", "articles_of_association", "address_proof")
]


def form(lines: list[str], docs: bool = True) -> CaseForm:
    return CaseForm.from_json(
        {
            "founder": {"name": "李雷", "id_number": "11010519491231002X", "phone": "13800138000", "is_graduate": False},
            "proposed_name": "成都测试科技有限公司",
            "business_lines": lines,
            "community_id": str(uuid.uuid4()),
            "workstation_id": str(uuid.uuid4()),
            **({"documents": DOCS} if docs else {}),
        }
    )


def submitted(lines: list[str] | None = None, placement: Placement = OFFICE, docs: bool = True) -> Case:
    case = Case.draft(district="wuhou", founder_sub="f", created_by="f", form=form(lines or ["ai_music"], docs), now=MON)
    case.submit(now=MON, actor="f", lines=LINES, placement=placement, calendar=CAL)
    return case


def test_complete_submission_is_ready_and_raises_case_submitted_only() -> None:
    case = submitted()
    assert case.status == Status.READY
    assert [type(e) for e in case.events] == [ev.CaseSubmittedV1]


def test_missing_documents_go_out_in_one_notice() -> None:
    case = submitted(docs=False)
    assert case.status == Status.AWAITING_MATERIALS
    [notice] = [e for e in case.events if isinstance(e, ev.MaterialsRequestedV1)]
    assert sorted(notice.items) == ["address_proof", "articles_of_association", "founder_id_copy"]


def test_submit_names_every_problem_at_once() -> None:
    case = Case.draft(district="wuhou", founder_sub="f", created_by="f", form=CaseForm(business_lines=("nope",)), now=MON)
    elsewhere = Placement("社区", "gaoxin", "office", None, "A-1", registrable=False, occupied_by_other=False)
    with pytest.raises(DomainError) as info:
        case.submit(now=MON, actor="f", lines=LINES, placement=elsewhere, calendar=CAL)
    fields = [f for f, _, _ in info.value.fields]
    assert {"founder.name", "proposed_name", "community_id", "workstation_id", "business_lines"} <= set(fields)
    assert case.status == Status.DRAFT and case.events == []


def test_a_taken_workstation_is_one_answer_whatever_else_is_wrong() -> None:
    case = Case.draft(district="wuhou", founder_sub="f", created_by="f", form=CaseForm(business_lines=("nope",)), now=MON)
    taken = Placement("社区", "wuhou", "office", None, "A-1", registrable=True, occupied_by_other=True)
    with pytest.raises(DomainError) as info:
        case.submit(now=MON, actor="f", lines=LINES, placement=taken, calendar=CAL)
    assert info.value.code == "workstation_occupied" and case.status == Status.DRAFT


def test_an_unknown_step_is_not_found_rather_than_a_wrong_transition() -> None:
    case = Case.draft(district="wuhou", founder_sub="f", created_by="f", form=CaseForm(), now=MON)
    with pytest.raises(DomainError) as info:
        case.complete_step("foo", reference=None, now=MON, actor="cw", calendar=CAL)
    assert info.value.code == "step_not_found"


def test_non_office_land_opens_the_site_statement_and_it_gates_permits() -> None:
    warehouse = Placement("仓库", "wuhou", "warehousing", None, "B-1", registrable=True, occupied_by_other=False)
    case = submitted(["ai_short_drama"], warehouse)
    [site] = [s for s in case.sub_cases.values() if s.kind == "site_statement"]
    for code in ("radio_tv_application", "content_staff_list"):
        case.supply_material(code, document_ref="x", checksum="b" * 64, now=MON, actor="f")
    case.accept(now=MON, actor="cw", calendar=CAL)
    [permit] = [s for s in case.sub_cases.values() if s.kind == "radio_tv_production"]
    assert case.permit_blockers() == ["business_licence", "site_statement"]
    case.complete_step("name_check", reference=None, now=MON, actor="cw", calendar=CAL)
    case.complete_step("business_licence", reference=None, now=MON, actor="cw", calendar=CAL, firm=(case.firm_id, "9" * 18))
    for office in ("talent_office", "development_bureau", "street_office"):
        case.sign_site_statement(site.id, office, now=MON, actor="cw", reference=None)
    assert case.permit_blockers() == [] and permit.status.value == "ready"
    case.refer_permit(permit.id, now=MON, actor="cw", calendar=CAL)
    assert permit.due_at is not None and permit.simplified_review


def test_steps_run_in_order_and_the_licence_creates_the_firm_event() -> None:
    case = submitted()
    case.accept(now=MON, actor="cw", calendar=CAL)
    assert case.steps["business_licence"].due_at == datetime(2026, 3, 5, 16, 0, tzinfo=UTC)  # end of Thu
    with pytest.raises(DomainError, match="step_out_of_order"):
        case.complete_step("seal", reference=None, now=MON, actor="cw", calendar=CAL)
    case.events.clear()
    case.complete_step("name_check", reference=None, now=MON, actor="cw", calendar=CAL)
    firm_id = case.firm_id  # reserved when the case was opened
    case.complete_step(
        "business_licence", reference="BL", now=MON + timedelta(days=1), actor="cw", calendar=CAL, firm=(firm_id, "9" * 18)
    )
    issued, registered = case.events
    assert isinstance(issued, ev.LicenceIssuedV1) and issued.within_promise and issued.working_days_used == 0.42
    assert isinstance(registered, ev.FirmRegisteredV1) and registered.firm_id == firm_id and registered.case_id == case.id


def test_correction_pauses_and_blocks_steps_until_supplied() -> None:
    case = submitted()
    case.accept(now=MON, actor="cw", calendar=CAL)
    case.request_correction({"address_proof": "地址证明过期"}, now=MON + timedelta(hours=1), actor="cw")
    assert case.status == Status.CORRECTION and case.licence_clock.is_paused
    with pytest.raises(DomainError, match="clock_paused_for_correction"):
        case.complete_step("name_check", reference=None, now=MON, actor="cw", calendar=CAL)
    case.supply_material("address_proof", document_ref="new", checksum="C" * 64, now=MON + timedelta(days=1), actor="f")
    assert case.status == Status.ACCEPTED and not case.licence_clock.is_paused
    assert case.materials["address_proof"].checksum == "c" * 64


def test_accepting_with_materials_missing_is_refused() -> None:
    case = submitted(docs=False)
    with pytest.raises(DomainError) as info:
        case.accept(now=MON, actor="cw", calendar=CAL)
    assert info.value.code == "materials_missing"


def test_what_the_jobs_record_is_raised_by_the_case_itself() -> None:
    case = submitted(docs=False)
    case.events.clear()
    case.remind_materials(["founder_id_copy", "address_proof"], now=MON + timedelta(days=2))
    [reminder] = case.events
    assert isinstance(reminder, ev.MaterialsReminderV1)
    assert reminder.items == ["address_proof", "founder_id_copy"] and reminder.reminder_no == 1
    assert case.materials["address_proof"].reminders_sent == 1 and case.materials["articles_of_association"].reminders_sent == 0
    case.escalate("licence", "warn", due=MON + timedelta(days=3), now=MON + timedelta(days=2))
    assert isinstance(case.events[-1], ev.SlaWarningV1)
    assert [e.action for e in case.new_timeline][-2:] == ["materials_reminded", "sla_warn"]
