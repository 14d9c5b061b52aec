"""The consolidated deficiency notice (一次性告知书) as a document.

One notice per request for materials (at submit) and per correction (补正): it lists every
missing item at once, with its code, its name and why the case needs it, the deadline and the
reminder schedule. The words are fixed when the notice is issued, in both languages, so the
document a street office handed over reads the same later, whatever the catalogue says then.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from opc_shared.clock import SHANGHAI
from registry.domain import materials as mat
from registry.domain.messages import Bilingual, name, names, say

#: The founder has until the end of the day of the last reminder; after it the caseworker calls.
DEADLINE_DAYS = max(mat.REMINDER_OFFSETS_DAYS)
REQUEST, CORRECTION = "request", "correction"


@dataclass(frozen=True)
class NoticeItem:
    code: str
    name: Bilingual
    reason: Bilingual
    #: ``founder`` supplies it; ``offices`` produce it together (the site statement), listed so the founder knows.
    provided_by: str = "founder"
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "reason": self.reason, "provided_by": self.provided_by, "note": self.note}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NoticeItem:
        return cls(data["code"], dict(data["name"]), dict(data["reason"]), data.get("provided_by", "founder"), data.get("note"))


@dataclass(frozen=True)
class Notice:
    id: uuid.UUID
    kind: str
    issued_at: datetime
    deadline_at: datetime
    reminders: tuple[date, ...]
    items: tuple[NoticeItem, ...]
    #: Given by the repository when the notice is stored (a per-district, per-year serial).
    number: str | None = None


def _deadline(issued_at: datetime) -> datetime:
    day = issued_at.astimezone(SHANGHAI).date() + timedelta(days=DEADLINE_DAYS)
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=SHANGHAI)


def _material_name(code: str) -> Bilingual:
    return name("material", code)


def reason_for(code: str, *, permits: Iterable[str], lines: Iterable[Any]) -> Bilingual:
    """Why the case needs ``code``: the rule of :func:`materials.required_materials` that put it there."""
    if code in {m.code for m in mat.BASE}:
        return say("reason_every_registration")
    if code == mat.GRADUATE.code:
        return say("reason_graduate")
    for permit, items in mat.PERMIT_MATERIALS.items():
        if code in {m.code for m in items} and permit in set(permits):
            needing = [line for line in lines if permit in {str(p) for p in line.permits}]
            if needing:
                line_names = {
                    "zh-CN": "、".join(f"“{getattr(line, 'name_zh', line.code)}”" for line in needing),
                    "en": ", ".join(getattr(line, "name_en", line.code) for line in needing),
                }
                return say("reason_line_needs_permit", lines=line_names, permit=name("permit", permit))
            return say("reason_permit_requested", permit=name("permit", permit))
    return say("reason_on_checklist")


def request_notice(
    *, missing: list[str], permits: list[str], lines: Iterable[Any], land_use: str | None, site_statement: bool, now: datetime
) -> Notice:
    """The notice sent at submit: every missing material, and the site statement the offices will issue."""
    lines = list(lines)
    items = [NoticeItem(code, _material_name(code), reason_for(code, permits=permits, lines=lines)) for code in missing]
    if site_statement:
        items.append(
            NoticeItem(
                mat.SITE_STATEMENT.code,
                _material_name(mat.SITE_STATEMENT.code),
                say("reason_land_use", land_use=name("land_use", land_use or "other"), offices=_offices()),
                provided_by="offices",
            )
        )
    reminders = tuple(mat.reminder_schedule(now.astimezone(SHANGHAI).date()))
    return Notice(uuid.uuid4(), REQUEST, now, _deadline(now), reminders, tuple(items))


def correction_notice(items: Mapping[str, str], *, now: datetime) -> Notice:
    """The notice of a correction (补正): each item with what is wrong with it, in the caseworker's words."""
    listed = tuple(
        NoticeItem(code, _material_name(code), say("reason_correction", note=note), note=note)
        for code, note in sorted(items.items())
    )
    reminders = tuple(mat.reminder_schedule(now.astimezone(SHANGHAI).date()))
    return Notice(uuid.uuid4(), CORRECTION, now, _deadline(now), reminders, listed)


def _offices() -> Bilingual:
    from registry.domain.catalogue import SITE_STATEMENT_OFFICES

    return names("office", SITE_STATEMENT_OFFICES)


def _day_text(day: date, lang: str) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if lang == "zh-CN" else day.strftime("%-d %B %Y")


def readable(notice: Notice, *, lang: str, proposed_name: str | None, submitted_at: datetime | None) -> dict[str, Any]:
    """The notice as a person reads it in ``lang``: title, sentences and the items' words."""
    from opc_shared.times import local_text

    def pick(text: Bilingual) -> str:
        return text.get(lang) or text["zh-CN"]

    reminders = [_day_text(d, lang) for d in notice.reminders]
    joiner = "、" if lang == "zh-CN" else ", "
    applied = local_text(submitted_at or notice.issued_at, lang)
    firm = proposed_name or ("（未填写企业名称）" if lang == "zh-CN" else "(no name yet)")
    return {
        "title": pick(name("notice_kind", notice.kind)),
        "intro": pick(say("notice_intro", submitted=applied, name=firm)),
        "deadline_text": pick(say("notice_deadline", deadline=local_text(notice.deadline_at, lang))),
        "reminders_text": pick(say("notice_reminders", days=joiner.join(reminders))),
        "issued_text": local_text(notice.issued_at, lang),
        "items": [
            {
                "code": item.code,
                "name": pick(item.name),
                "reason": pick(item.reason),
                "provided_by": item.provided_by,
                "provided_by_text": pick(name("provided_by", item.provided_by)),
                "note": item.note,
            }
            for item in notice.items
        ],
    }


def catalogue() -> list[dict[str, Any]]:
    """Every material the registry can ask for, with its names and when it is needed, in both languages."""
    out = []
    for m in (*mat.BASE, mat.GRADUATE, *(m for items in mat.PERMIT_MATERIALS.values() for m in items), mat.SITE_STATEMENT):
        permit = next((str(p) for p, items in mat.PERMIT_MATERIALS.items() if m in items), None)
        out.append(
            {
                "code": m.code,
                "name_zh": m.name_zh,
                "name_en": m.name_en,
                "needed_when_zh": m.reason_zh,
                "needed_when_en": m.reason_en,
                "permit": permit,
                "provided_by": "offices" if m is mat.SITE_STATEMENT else "founder",
            }
        )
    return out
