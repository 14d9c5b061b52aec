"""The deficiency notices of a case (JSON and a printable page) and the materials catalogue."""

from __future__ import annotations

import html
from datetime import date
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from opc_shared.auth import CurrentPrincipal
from opc_shared.pagination import PageDep, PageOut, paged
from opc_shared.problems import pick_language
from opc_shared.service import UowDep
from opc_shared.times import UtcDateTime
from registry.domain.notice import catalogue
from registry.service import notices as service

router = APIRouter(tags=["deficiency notices"])


class NoticeItemOut(BaseModel):
    code: str
    name: str
    reason: str
    provided_by: str
    provided_by_text: str
    note: str | None


class NoticeOut(BaseModel):
    id: UUID
    number: str
    kind: str
    case_id: UUID
    language: str
    title: str
    intro: str
    issued_at: UtcDateTime
    issued_text: str
    deadline_at: UtcDateTime
    deadline_text: str
    reminders: list[date]
    reminders_text: str
    items: list[NoticeItemOut]


class CatalogueMaterialOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    needed_when_zh: str
    needed_when_en: str
    permit: str | None
    provided_by: str


def _lang(request: Request) -> str:
    return pick_language(request.headers.get("accept-language"))


@router.get(
    "/cases/{case_id}/notices",
    response_model=PageOut[NoticeOut],
    summary="一次性告知书: every notice of the case (request and corrections), oldest first, in the Accept-Language",
)
async def list_notices(
    case_id: UUID, request: Request, principal: CurrentPrincipal, uow: UowDep, page: PageDep
) -> PageOut[NoticeOut]:
    notices = await service.notices(uow, principal, case_id, lang=_lang(request))
    ordered = [{**n, "_n": f"{i:06d}"} for i, n in enumerate(notices)]  # as issued
    return PageOut.of(paged(ordered, page, key=lambda n: n["_n"], tag="notices"), NoticeOut)


@router.get("/cases/{case_id}/notices/{notice_id}", response_model=NoticeOut, summary="One notice")
async def get_notice(case_id: UUID, notice_id: UUID, request: Request, principal: CurrentPrincipal, uow: UowDep) -> NoticeOut:
    return NoticeOut(**await service.notice(uow, principal, case_id, notice_id, lang=_lang(request)))


@router.get(
    "/cases/{case_id}/notices/{notice_id}/print",
    response_class=HTMLResponse,
    summary="One notice as a printable page (HTML) a street office hands over or sends",
)
async def print_notice(
    case_id: UUID, notice_id: UUID, request: Request, principal: CurrentPrincipal, uow: UowDep
) -> HTMLResponse:
    lang = _lang(request)
    notice = await service.notice(uow, principal, case_id, notice_id, lang=lang)
    return HTMLResponse(page(notice, lang), headers={"Content-Language": lang})


@router.get("/materials", response_model=PageOut[CatalogueMaterialOut], summary="Every material the registry can ask for")
async def list_materials(principal: CurrentPrincipal, page: PageDep) -> PageOut[CatalogueMaterialOut]:
    del principal
    return PageOut.of(paged(catalogue(), page, key=lambda m: m["code"], tag="materials"), CatalogueMaterialOut)


LABELS = {
    "zh-CN": ("编号", "序号", "材料", "编码", "原因", "提交方式", "说明", "出具日期", "街道办事处（盖章）"),
    "en": ("Number", "No.", "Material", "Code", "Why it is needed", "How", "Note", "Issued", "Street office (seal)"),
}


def page(notice: dict[str, Any], lang: str) -> str:
    """A self-contained A4 page: no scripts, no external resources, every value escaped."""
    e = html.escape
    number, no, material, code, why, how, note, issued, seal = LABELS[lang]
    rows = "\n".join(
        f"<tr><td>{i}</td><td>{e(item['name'])}</td><td><code>{e(item['code'])}</code></td>"
        f"<td>{e(item['reason'])}</td><td>{e(item['provided_by_text'])}</td><td>{e(item['note'] or '')}</td></tr>"
        for i, item in enumerate(notice["items"], 1)
    )
    return f"""<!doctype html>
<html lang="{e(lang)}"><head><meta charset="utf-8"><title>{e(notice["title"])} {e(notice["number"])}</title>
<style>@page {{ size: A4; margin: 20mm }} body {{ font-family: "Noto Serif SC", serif; line-height: 1.6 }}
h1 {{ text-align: center; letter-spacing: .2em }} table {{ width: 100%; border-collapse: collapse }}
td, th {{ border: 1px solid #000; padding: 4px 6px; vertical-align: top }} .right {{ text-align: right }}</style></head>
<body><h1>{e(notice["title"])}</h1>
<p class="right">{number}：{e(notice["number"])}</p>
<p>{e(notice["intro"])}</p>
<table><thead><tr><th>{no}</th><th>{material}</th><th>{code}</th><th>{why}</th><th>{how}</th><th>{note}</th></tr></thead>
<tbody>
{rows}
</tbody></table>
<p>{e(notice["deadline_text"])}</p>
<p>{e(notice["reminders_text"])}</p>
<p class="right">{seal}<br>{issued}：{e(notice["issued_text"])}</p>
</body></html>
"""
