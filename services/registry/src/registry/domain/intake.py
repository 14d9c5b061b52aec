"""Field rules of the one form, applied to whatever part of it is filled in (drafts are partial)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

from registry.domain.form import CaseForm
from registry.domain.identifiers import InvalidIdentifier, validate_resident_id

PHONE = re.compile(r"^1[3-9]\d{9}$")
CHECKSUM = re.compile(r"^[0-9a-fA-F]{64}$")


def validate_form(form: CaseForm, today: date) -> list[tuple[str, str, str]]:
    """(field, type, message) for every bad field present; missing fields are checked at submit.
    Reads only: the form is left as it came (see :func:`normalised` for the stored spelling)."""
    issues: list[tuple[str, str, str]] = []
    founder = form.founder_or_blank
    if founder.id_number:
        try:
            validate_resident_id(founder.id_number, today)
        except InvalidIdentifier as exc:
            issues.append(("founder.id_number", "invalid_resident_id", str(exc)))
    if founder.phone and not PHONE.match(founder.phone):
        issues.append(("founder.phone", "invalid_phone", "a mainland mobile number of 11 digits starting with 1"))
    if founder.graduation_date:
        if founder.graduation_date > today:
            issues.append(("founder.graduation_date", "in_future", "the graduation date is in the future"))
        if founder.is_graduate is False:
            issues.append(("founder.graduation_date", "inconsistent", "given although the founder is not a graduate"))
    for i, doc in enumerate(form.documents or ()):
        if not CHECKSUM.match(doc.checksum):
            issues.append((f"documents.{i}.checksum", "invalid_checksum", "a SHA-256 hex digest of 64 characters"))
    return issues


def normalised(form: CaseForm) -> CaseForm:
    """The same form in its stored spelling (resident ID upper-case, no padding); call after validating."""
    if form.founder is None or not form.founder.id_number:
        return form
    return replace(form, founder=replace(form.founder, id_number=form.founder.id_number.strip().upper()))
