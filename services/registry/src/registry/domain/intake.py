"""Field rules of the one form, applied to whatever part of it is filled in (drafts are partial)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from datetime import date

from registry.domain.form import CaseForm
from registry.domain.identifiers import InvalidIdentifier, validate_resident_id
from registry.domain.messages import say

PHONE = re.compile(r"^1[3-9][0-9]{9}$")
CHECKSUM = re.compile(r"^[0-9a-fA-F]{64}$")
#: Separators people type inside a phone number; dropped after NFKC.
PHONE_SEPARATORS = re.compile(r"[\s\-]")


def validate_form(form: CaseForm, today: date) -> list[tuple[str, str, str]]:
    """(field, type, message) for every bad field present; missing fields are checked at submit.
    Reads only: the form is left as it came (see :func:`normalised` for the stored spelling)."""
    issues: list[tuple[str, str, str]] = []
    founder = form.founder_or_blank
    if founder.id_number:
        try:
            validate_resident_id(founder.id_number, today)
        except InvalidIdentifier as exc:
            issues.append(("founder.id_number", "invalid_resident_id", exc.text))
    if founder.phone and not PHONE.match(founder.phone):
        issues.append(("founder.phone", "invalid_phone", say("invalid_phone")))
    if founder.graduation_date:
        if founder.graduation_date > today:
            issues.append(("founder.graduation_date", "in_future", say("graduation_in_future")))
        if founder.is_graduate is False:
            issues.append(("founder.graduation_date", "inconsistent", say("graduation_not_graduate")))
    for i, doc in enumerate(form.documents or ()):
        if not CHECKSUM.match(doc.checksum):
            issues.append((f"documents.{i}.checksum", "invalid_checksum", say("invalid_checksum")))
    return issues


def normalised(form: CaseForm) -> CaseForm:
    """The same form with identifiers in the one spelling that is stored and compared; call before validating.

    NFKC folds full-width input (an IME's ``１３８…``, ``Ｘ``) into ASCII; what it does not fold
    (Arabic-Indic or other scripts' digits) stays and is refused by the ASCII-only rules above,
    rather than being stored as a number nobody can dial or match. Names are left alone: Chinese
    company names are written with full-width brackets on purpose."""
    founder = form.founder
    if founder is None:
        return form
    changes = {}
    if founder.phone:
        changes["phone"] = PHONE_SEPARATORS.sub("", unicodedata.normalize("NFKC", founder.phone))
    if founder.id_number:
        changes["id_number"] = unicodedata.normalize("NFKC", founder.id_number).strip().upper()
    return replace(form, founder=replace(founder, **changes)) if changes else form
