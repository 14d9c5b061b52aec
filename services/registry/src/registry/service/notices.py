"""Reading a case's deficiency notices: the same visibility as the case itself."""

from __future__ import annotations

import uuid
from typing import Any

from opc_shared.auth import Principal
from opc_shared.db import UnitOfWork
from opc_shared.errors import NotFound
from registry.adapters.repository import CaseRepository
from registry.domain.notice import Notice, readable
from registry.service.cases import get_visible


def _out(notice: Notice, case: Any, lang: str) -> dict[str, Any]:
    words = readable(notice, lang=lang, proposed_name=case.form.proposed_name, submitted_at=case.submitted_at)
    return {
        "id": notice.id,
        "number": notice.number,
        "kind": notice.kind,
        "case_id": case.id,
        "language": lang,
        "issued_at": notice.issued_at,
        "deadline_at": notice.deadline_at,
        "reminders": list(notice.reminders),
        **words,
    }


async def notices(uow: UnitOfWork, principal: Principal, case_id: uuid.UUID, *, lang: str) -> list[dict[str, Any]]:
    case = await get_visible(uow, principal, case_id)
    return [_out(n, case, lang) for n in await CaseRepository(uow).notices(case_id)]


async def notice(uow: UnitOfWork, principal: Principal, case_id: uuid.UUID, notice_id: uuid.UUID, *, lang: str) -> dict[str, Any]:
    case = await get_visible(uow, principal, case_id)
    found = next((n for n in await CaseRepository(uow).notices(case_id) if n.id == notice_id), None)
    if found is None:
        raise NotFound({"en": "notice", "zh-CN": "告知书"}, notice_id)
    return _out(found, case, lang)
