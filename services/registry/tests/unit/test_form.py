"""The one form as a typed value: drafts partial, edits merged into a new form, rules that only read."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date

import pytest

from registry.domain.form import CaseForm, Document, Founder
from registry.domain.intake import normalised, validate_form

TODAY = date(2026, 11, 22)
WS = uuid.uuid4()
FULL = {
    "founder": {
        "name": "李雷",
        "id_number": "11010519491231002x",
        "phone": "13800138000",
        "is_graduate": True,
        "graduation_date": "2025-06-30",
    },
    "proposed_name": "成都测试科技有限公司",
    "business_lines": ["ai_music"],
    "community_id": str(uuid.uuid4()),
    "workstation_id": str(WS),
    "documents": [{"code": "address_proof", "document_ref": "dms://a", "checksum": "b" * 64}],
}


def test_json_round_trip_keeps_exactly_the_filled_keys() -> None:
    form = CaseForm.from_json(FULL)
    assert form.workstation_id == WS and form.founder == Founder(
        "李雷", "11010519491231002x", "13800138000", True, date(2025, 6, 30)
    )
    assert form.documents == (Document("address_proof", "dms://a", "b" * 64),)
    assert form.to_json() == FULL
    assert CaseForm.from_json({"proposed_name": "x"}).to_json() == {"proposed_name": "x"}


def test_an_edit_is_a_new_form_and_the_founder_merges_key_by_key() -> None:
    draft = CaseForm.from_json({"founder": {"name": "李雷", "phone": "13800138000"}, "business_lines": ["a"]})
    edited = draft.merged({"founder": {"phone": "13900139000"}, "business_lines": ["b", "c"]})
    assert edited.founder == Founder(name="李雷", phone="13900139000")
    assert edited.business_lines == ("b", "c")
    assert draft.founder == Founder(name="李雷", phone="13800138000") and draft.business_lines == ("a",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        draft.proposed_name = "changed"  # type: ignore[misc]


def test_missing_names_the_fields_submit_needs() -> None:
    assert CaseForm().missing()[:2] == ["founder.name", "founder.id_number"]
    graduate_without_date = CaseForm.from_json({**FULL, "founder": {**FULL["founder"], "graduation_date": None}})
    assert graduate_without_date.missing() == ["founder.graduation_date"]
    assert CaseForm.from_json(FULL).missing() == []
    assert "business_lines" in CaseForm.from_json({**FULL, "business_lines": []}).missing()


def test_validate_form_reads_only_and_normalised_returns_the_stored_spelling() -> None:
    form = CaseForm.from_json(FULL)
    before = form.to_json()
    assert validate_form(form, TODAY) == []
    assert form.to_json() == before  # the lower-case x is still what the caller sent
    assert normalised(form).founder.id_number == "11010519491231002X"
    assert form.founder.id_number == "11010519491231002x"


def test_validate_form_names_each_bad_field() -> None:
    bad = CaseForm.from_json(
        {
            "founder": {
                "id_number": "110105194912310021",
                "phone": "12345",
                "is_graduate": False,
                "graduation_date": "2027-01-01",
            },
            "documents": [{"code": "x", "document_ref": "r", "checksum": "nope"}],
        }
    )
    assert [(f, t) for f, t, _ in validate_form(bad, TODAY)] == [
        ("founder.id_number", "invalid_resident_id"),
        ("founder.phone", "invalid_phone"),
        ("founder.graduation_date", "in_future"),
        ("founder.graduation_date", "inconsistent"),
        ("documents.0.checksum", "invalid_checksum"),
    ]
