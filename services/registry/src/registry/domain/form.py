"""The one form a founder fills in, as a typed value.

A draft may leave any field out (``None``); submit asks :meth:`CaseForm.missing` what is still
needed. The form is immutable: an edit is :meth:`CaseForm.merged` with a patch, which returns a
new form, so a rule can never change what the caller passed in. It is stored as JSON
(:meth:`to_json` / :meth:`from_json`) with exactly the keys that were filled in.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Founder:
    name: str | None = None
    id_number: str | None = None
    phone: str | None = None
    is_graduate: bool | None = None
    graduation_date: date | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Founder:
        data = data or {}
        graduated = data.get("graduation_date")
        return cls(
            name=data.get("name"),
            id_number=data.get("id_number"),
            phone=data.get("phone"),
            is_graduate=data.get("is_graduate"),
            graduation_date=date.fromisoformat(graduated) if isinstance(graduated, str) else graduated,
        )

    def to_json(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}
        if self.graduation_date is not None:
            out["graduation_date"] = self.graduation_date.isoformat()
        return out


@dataclass(frozen=True)
class Document:
    """A material handed in with the form: a reference into the document store and its SHA-256."""

    code: str
    document_ref: str
    checksum: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Document:
        return cls(code=data["code"], document_ref=data["document_ref"], checksum=data["checksum"])

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "document_ref": self.document_ref, "checksum": self.checksum}


#: What submit needs, named as the API names the fields.
REQUIRED = (
    "founder.name",
    "founder.id_number",
    "founder.phone",
    "founder.is_graduate",
    "proposed_name",
    "business_lines",
    "community_id",
    "workstation_id",
)


@dataclass(frozen=True)
class CaseForm:
    founder: Founder | None = None
    proposed_name: str | None = None
    business_lines: tuple[str, ...] | None = None
    community_id: uuid.UUID | None = None
    workstation_id: uuid.UUID | None = None
    requested_permits: tuple[str, ...] | None = None
    documents: tuple[Document, ...] | None = None
    #: Filled in at submit from the chosen workstation: where the firm is registered.
    community_name: str | None = None
    registered_address: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> CaseForm:
        data = data or {}
        lines, permits, docs = data.get("business_lines"), data.get("requested_permits"), data.get("documents")
        return cls(
            founder=Founder.from_json(data["founder"]) if data.get("founder") is not None else None,
            proposed_name=data.get("proposed_name"),
            business_lines=tuple(lines) if lines is not None else None,
            community_id=_uuid(data.get("community_id")),
            workstation_id=_uuid(data.get("workstation_id")),
            requested_permits=tuple(permits) if permits is not None else None,
            documents=tuple(Document.from_json(d) for d in docs) if docs is not None else None,
            community_name=data.get("community_name"),
            registered_address=data.get("registered_address"),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if isinstance(value, Founder):
                value = value.to_json()
            elif isinstance(value, uuid.UUID):
                value = str(value)
            elif f.name == "documents":
                value = [d.to_json() for d in value]
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    def merged(self, patch: Mapping[str, Any]) -> CaseForm:
        """A new form with ``patch`` (the fields an edit sent) applied; the founder merges key by key."""
        data = self.to_json()
        for key, value in patch.items():
            if key == "founder" and isinstance(value, Mapping) and isinstance(data.get("founder"), dict):
                data["founder"] = {**data["founder"], **value}
            else:
                data[key] = value
        return CaseForm.from_json(data)

    def placed(self, community_name: str, registered_address: str) -> CaseForm:
        return replace(self, community_name=community_name, registered_address=registered_address)

    @property
    def founder_or_blank(self) -> Founder:
        return self.founder or Founder()

    def missing(self) -> list[str]:
        """The fields submit still needs, in the order of the form."""
        founder = self.founder_or_blank
        values = {
            "founder.name": founder.name,
            "founder.id_number": founder.id_number,
            "founder.phone": founder.phone,
            "founder.is_graduate": founder.is_graduate,
            "proposed_name": self.proposed_name,
            "business_lines": self.business_lines,
            "community_id": self.community_id,
            "workstation_id": self.workstation_id,
        }
        missing = [path for path in REQUIRED if values[path] in (None, "", ())]
        if founder.is_graduate and not founder.graduation_date:
            missing.append("founder.graduation_date")
        return missing

    def filled_fields(self) -> list[str]:
        return sorted(flat_keys(self.to_json()))


def flat_keys(data: Mapping[str, Any], prefix: str = "") -> set[str]:
    """``{"founder": {"name": …}}`` -> ``{"founder.name"}``: the fields an edit touched, for the timeline."""
    keys = set()
    for key, value in data.items():
        if isinstance(value, Mapping):
            keys |= flat_keys(value, f"{prefix}{key}.")
        else:
            keys.add(f"{prefix}{key}")
    return keys


def _uuid(value: object) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    return uuid.UUID(str(value))
