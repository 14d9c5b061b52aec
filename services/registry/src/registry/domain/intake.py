"""Field rules of the one form, applied to whatever part of it is filled in (drafts are partial)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from registry.domain.identifiers import InvalidIdentifier, validate_resident_id

PHONE = re.compile(r"^1[3-9]\d{9}$")
CHECKSUM = re.compile(r"^[0-9a-fA-F]{64}$")


def validate_form(form: dict[str, Any], today: date) -> list[tuple[str, str, str]]:
    """(field, type, message) for every bad field present; missing fields are checked at submit."""
    issues: list[tuple[str, str, str]] = []
    founder = form.get("founder") or {}
    if founder.get("id_number"):
        try:
            founder["id_number"] = validate_resident_id(founder["id_number"], today)
        except InvalidIdentifier as exc:
            issues.append(("founder.id_number", "invalid_resident_id", str(exc)))
    if founder.get("phone") and not PHONE.match(founder["phone"]):
        issues.append(("founder.phone", "invalid_phone", "a mainland mobile number of 11 digits starting with 1"))
    graduation = founder.get("graduation_date")
    if graduation:
        graduated = date.fromisoformat(graduation) if isinstance(graduation, str) else graduation
        if graduated > today:
            issues.append(("founder.graduation_date", "in_future", "the graduation date is in the future"))
        if founder.get("is_graduate") is False:
            issues.append(("founder.graduation_date", "inconsistent", "given although the founder is not a graduate"))
    for i, doc in enumerate(form.get("documents") or []):
        if not CHECKSUM.match(doc.get("checksum", "")):
            issues.append((f"documents.{i}.checksum", "invalid_checksum", "a SHA-256 hex digest of 64 characters"))
    return issues
